"""The Korean learner notebooks in a real JupyterLab: run all, no errors, a widget driven,
and its labels in Korean (the notebook's first cell sets ESLAB_LANG=ko in the kernel)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from .conftest import LabServer
from .harness import (
    assert_no_errors,
    click_button,
    press_slider,
    run_notebook,
    slider_by_description,
    text_of,
    wait_for_text,
)


def _welcome(page: Any) -> None:
    lab = page.locator(".eslab-welcome")
    echo = lab.locator(".eslab-welcome-echo")
    wait_for_text(echo, "슬라이더를 움직여 보세요. 이 글자가 따라 바뀌어야 합니다.")
    assert press_slider(slider_by_description(lab, "움직여 보세요"), "ArrowRight", 2) == "2"
    wait_for_text(echo, "위젯이 동작합니다: 슬라이더는 2에 있습니다.")


def _crud(page: Any) -> None:
    lab = page.locator(".eslab-crudlab")
    summary = lab.locator(".eslab-crudlab-summary")
    wait_for_text(summary, "CRUD: 로우 1개, 잔액 50 · 이벤트: 로우 1개, 잔액 50")
    click_button(lab, "입금")
    wait_for_text(summary, "CRUD: 로우 1개, 잔액 60 · 이벤트: 로우 2개, 잔액 60")


def _time_machine(last: int, event_type: str) -> Callable[[Any], None]:
    def drive(page: Any) -> None:
        machine = page.locator(".eslab-timemachine")
        caption = machine.locator(".eslab-timemachine-caption")
        wait_for_text(caption, re.compile(rf"^버전 {last} / {last}: "))
        press_slider(slider_by_description(machine, "버전"), "ArrowLeft", 1)
        wait_for_text(caption, re.compile(rf"^버전 {last - 1} / {last}: 위치 \d+의 {event_type}"))
        assert "필드" in text_of(machine.locator(".eslab-timemachine-state"))

    return drive


def _conflict(page: Any) -> None:
    lab = page.locator(".eslab-conflictlab")
    wait_for_text(lab.locator(".eslab-conflictlab-bob-status"), re.compile(r"버전 2 보유"))
    lab.locator(".eslab-conflictlab-alice-save").click()
    wait_for_text(lab.locator(".eslab-conflictlab-alice-status"), re.compile(r"버전 3 저장함"))
    caption = lab.locator(".eslab-conflictlab-caption")
    wait_for_text(caption, "타임라인: 저장된 이벤트 3개, 거부된 append 0개는 ✕로 표시")


def _relay(page: Any) -> None:
    lab = page.locator(".eslab-relaylab")
    summary = lab.locator(".eslab-relaylab-summary")
    wait_for_text(summary, re.compile(r"8단계 중 0단계 완료"))
    click_button(lab, "다음 단계")
    wait_for_text(summary, re.compile(r"8단계 중 1단계 완료"))


def _snapshots(page: Any) -> None:
    lab = page.locator(".eslab-snapshotlab")
    results = lab.locator(".eslab-snapshotlab-results")
    wait_for_text(results, re.compile(r"버전 10,000의 스냅샷에서.*예 ✓"), 60_000)
    assert "스냅샷에서 시작해" in text_of(lab.locator(".eslab-snapshotlab-plan"))


@dataclass(frozen=True)
class Case:
    """One Korean learner notebook: how many widgets it shows and how to drive one."""

    notebook: str
    widgets: int
    drive: Callable[[Any], None]
    timeout: float = 240_000


# 02 is left out to keep `make test` fast (about 35 s a notebook, 90 s for 05): its only
# widget, the time machine, is driven in 12, and the notebook tests run 02 in Korean.
CASES = [
    Case("00_welcome.ipynb", 1, _welcome),
    Case("01_why_event_sourcing.ipynb", 1, _crud),
    Case("03_optimistic_locking.ipynb", 1, _conflict),
    Case("04_publishing_events.ipynb", 1, _relay),
    Case("05_snapshots.ipynb", 2, _snapshots, 300_000),
    Case("12_your_own_domain.ipynb", 1, _time_machine(3, "BookLent")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.notebook[:2] for c in CASES])
def test_korean_notebook_runs_with_korean_widgets(
    page: Any, lab_server: LabServer, case: Case
) -> None:
    run_notebook(
        page, lab_server, f"ko/{case.notebook}", widgets=case.widgets, timeout=case.timeout
    )
    case.drive(page)
    hints = page.locator(".eslab-check")
    assert hints.count() >= 1 and all("아직입니다. 힌트:" in text_of(h) for h in hints.all())
    assert_no_errors(page)
