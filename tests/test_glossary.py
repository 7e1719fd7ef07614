"""The Korean glossary: the seed's terms are there, the notebooks it names exist, and standard
terms the seed does not use are marked."""

from __future__ import annotations

from pathlib import Path

from eslab import glossary

ROOT = Path(__file__).resolve().parents[1]

SEED_TERMS = (
    "기본 생성자",
    "버전 컬럼",
    "동시 업데이트",
    "메시지 브로커",
    "엔티티",
    "이벤트 DB 스키마",
    "감사/통제",
    "성능/확장성",
    "자바용 이벤추에이트 클라이언트",
    "새로운 프로그래밍 모델",
    "메시징 기반 애플리케이션",
    "애그리거트 이력",
    "객체 테이블(O/R) 임피던스 불일치",
)


def test_the_seeds_terms_are_in_the_glossary() -> None:
    korean = {t.korean for t in glossary.TERMS}
    assert not [t for t in SEED_TERMS if t not in korean]


def test_crypto_shredding_reads_as_shredding_not_shedding() -> None:
    text = glossary.markdown()
    assert "크립토 슈레딩 (암호 파쇄)" in text and "셰딩" not in text


def test_terms_the_seed_does_not_use_are_marked() -> None:
    text = glossary.markdown()
    for term in glossary.TERMS:
        row = next(line for line in text.splitlines() if line.startswith(f"| {term.korean}"))
        assert ("†" in row.split("|")[1]) == (not term.in_seed), row
    assert "† marks a standard term" in text


def test_where_the_event_store_and_eventuate_local_are_taught() -> None:
    where = {t.korean: t.notebook for t in glossary.TERMS}
    assert where["이벤트 저장소"] == "00" and where["이벤추에이트 로컬"] == "02"


def test_retries_are_attempts_as_in_eventuate() -> None:
    retry = next(t for t in glossary.TERMS if t.korean == "재시도")
    assert "10 attempts" in retry.meaning and "9 retries" in retry.meaning


def test_every_notebook_from_06_on_links_the_glossary_and_ends_in_korean() -> None:
    import nbformat

    for path in sorted((ROOT / "notebooks" / "solutions").glob("[01][0-9]_*.ipynb")):
        if path.name[:2] < "06":
            continue
        nb = nbformat.read(path, as_version=4)
        assert "GLOSSARY.md" in nb.cells[0].source, path.name
        last = nb.cells[-1]
        assert last.cell_type == "markdown" and last.source.startswith("## 요약"), path.name
