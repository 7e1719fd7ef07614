"""The chapter's terms in Korean (the seed notes) and English, with the notebook for each."""

from __future__ import annotations

from typing import NamedTuple


class Term(NamedTuple):
    korean: str
    english: str
    notebook: str
    meaning: str
    in_seed: bool = True
    """False for a standard term the seed notes do not use (marked † in the table)."""


TERMS: list[Term] = [
    Term("이벤트 소싱", "event sourcing", "01", "store an aggregate as the sequence of its events"),
    Term("애그리거트", "aggregate", "02", "a cluster of objects changed as one unit; one stream"),
    Term("도메인 이벤트", "domain event", "02", "a record that something happened to an aggregate"),
    Term(
        "이벤트는 곧 상태변화",
        "events are state changes",
        "02",
        "each event holds exactly the change it makes",
    ),
    Term("재연", "replay", "02", "default constructor + apply every event in order"),
    Term("커맨드", "command", "02", "a request; process(command) decides which events happen"),
    Term("타임 머신", "time machine", "02", "rebuild any past version from the events"),
    Term(
        "객체 관계 매핑의 부정합",
        "O/R impedance mismatch",
        "01",
        "rich objects squeezed into rows and columns",
    ),
    Term(
        "감사 로깅",
        "audit logging",
        "01",
        "what changed and when is in every event; who — if the event's metadata records an "
        "actor (notebook 10)",
    ),
    Term(
        "낙관적 잠금",
        "optimistic locking",
        "03",
        "write only if the version is still the one you read",
    ),
    Term(
        "원본 버전",
        "original (read) version",
        "03",
        "the version you loaded; the WHERE clause checks it",
    ),
    Term("갱신 손실", "lost update", "03", "a blind overwrite erases someone else's change", False),
    Term(
        "재시도",
        "retry",
        "03",
        "reload and run the command again (Eventuate: at most 10 attempts, i.e. 9 retries)",
        False,
    ),
    Term("이벤트 발행", "event publishing", "04", "getting stored events to a message broker"),
    Term(
        "폴링",
        "polling publisher",
        "04",
        "SELECT … WHERE published = 0, publish, then mark published",
    ),
    Term(
        "트랜잭션 로그 테일링",
        "transaction log tailing",
        "04",
        "follow the database's commit log (CDC) and publish what it shows",
    ),
    Term(
        "후행 트랜잭션이 커밋된다",
        "the later transaction commits (first)",
        "04",
        "a lower position committing late makes a naive poller skip an event",
    ),
    Term("체크포인트", "checkpoint", "04", "the position a reader of the log has reached", False),
    Term(
        "최소 한 번 전달", "at-least-once delivery", "04", "never lost, sometimes duplicated", False
    ),
    Term("토픽", "topic", "04", "one per aggregate type, as in Eventuate", False),
    Term("컨슈머 그룹", "consumer group", "04", "each group gets every message once", False),
    Term("스냅샷", "snapshot", "05", "the state at version N, so only events after N are loaded"),
    Term(
        "오래된 스냅샷",
        "stale snapshot",
        "05",
        "written by an older class version: upcast it or replay from events",
        False,
    ),
    Term("로드/폴드", "load and fold", "05", "read a long stream and apply every event"),
    Term("멱등", "idempotent", "06", "processing the same message twice has the effect of once"),
    Term("메시지 컨슈머", "message consumer", "06", "a handler of messages from the broker"),
    Term(
        "PROCESSED_MESSAGES 테이블",
        "processed messages table",
        "06",
        "message ids recorded in the same transaction as the events",
        False,
    ),
    Term(
        "중복 메시지 / 재전달",
        "duplicate message / redelivery",
        "06",
        "the broker sends a message again, e.g. after a lost ack",
        False,
    ),
    Term(
        "트리거링 이벤트",
        "triggering event",
        "06",
        "the id of the message that caused these events (NoSQL-style dedup)",
        False,
    ),
    Term(
        "의사 이벤트",
        "pseudo event",
        "06",
        "MessageIgnored: records a message id, changes nothing",
        False,
    ),
    Term(
        "항상 이벤트를 발행한다",
        "always publish an event",
        "06",
        "so the message id is stored even when nothing changed",
    ),
    Term("이벤트 스키마", "event schema", "07", "aggregates, their event types and their fields"),
    Term("업캐스팅", "upcasting", "07", "rewrite an old event to the newest schema on load"),
    Term("업캐스터", "upcaster", "07", "one step vN → vN+1 of an event type"),
    Term(
        "도메인 이벤트 발전시키기",
        "evolving domain events",
        "07",
        "event schemas change while old events stay stored",
    ),
    Term("약한 스키마", "weak schema", "07", "read old data leniently, with defaults", False),
    Term("복사 후 교체", "copy-and-replace", "07", "rewrite the whole log into a new store", False),
    Term("사가", "saga", "08", "a sequence of local transactions with compensations"),
    Term(
        "피벗 트랜잭션",
        "pivot transaction",
        "08",
        "the go/no-go step (authorize card): after it, no compensation",
        False,
    ),
    Term(
        "재시도 가능 트랜잭션",
        "retriable transaction",
        "08",
        "a step after the pivot: retried until it succeeds",
        False,
    ),
    Term(
        "커맨드 메시지를 멱등하게 처리",
        "idempotent command handling",
        "08",
        "a redelivered saga command does not act twice",
    ),
    Term(
        "응답 메시지를 원자적으로 전송",
        "sending replies atomically",
        "08",
        "SagaReplyRequested is written with the business events",
    ),
    Term(
        "상관관계 ID / 인과관계 ID",
        "correlation id / causation id",
        "08",
        "the conversation's root / the direct parent message",
        False,
    ),
    Term("오케스트레이션", "orchestration", "08", "an orchestrator tells participants what to do"),
    Term("코레오그래피", "choreography", "08", "participants react to each other's events"),
    Term(
        "보상 트랜잭션",
        "compensating transaction",
        "08",
        "undo an earlier step when a later one fails",
        False,
    ),
    Term("사가 참여자", "saga participant", "08", "a service that handles saga commands"),
    Term("사가 오케스트레이터", "saga orchestrator", "08", "runs the saga; here event sourced"),
    Term(
        "CQRS",
        "command query responsibility segregation",
        "09",
        "keep read models (projections) apart from the event store",
    ),
    Term("프로젝션", "projection / read model", "09", "a table kept up to date from events", False),
    Term("읽기 모델", "read model", "09", "a query table kept up to date by a projection", False),
    Term("재구축", "rebuild", "09", "drop the read model and replay from position 0", False),
    Term(
        "이벤트 저장소를 쿼리하기 어렵다",
        "querying the event store is difficult",
        "09",
        "hard: events are per aggregate, questions are across them",
    ),
    Term("장점 / 단점", "benefits / drawbacks", "10", "what event sourcing gives and costs"),
    Term(
        "크립토 슈레딩 (암호 파쇄)",
        "crypto-shredding",
        "10",
        "encrypt personal data per subject; delete the key to forget",
        False,
    ),
    Term(
        "가명 ID",
        "pseudonymous id",
        "10",
        "a meaningless aggregate id — never an e-mail or a name",
        False,
    ),
    Term("데이터 주체", "data subject", "10", "the person whose key protects their data", False),
    Term(
        "이벤추에이트 로컬",
        "Eventuate Local",
        "02",
        "the book's event store: events, entities, snapshots",
    ),
    Term(
        "데이터 삭제",
        "deleting data",
        "10",
        "hard with immutable events; crypto-shredding forgets the key",
    ),
    Term(
        "이벤트 저장소",
        "event store",
        "00",
        "a database of events (eslab's from notebook 00); products: Event Store, Axon, "
        "Eventuate (10)",
    ),
    Term(
        "기본 생성자",
        "default constructor",
        "02",
        "replay starts from it, then applies every event",
    ),
    Term("버전 컬럼", "version column", "03", "entity_version: the optimistic lock compares it"),
    Term("동시 업데이트", "concurrent updates", "03", "two transactions change the same aggregate"),
    Term(
        "메시지 브로커",
        "message broker",
        "04",
        "Kafka here in miniature: topics, at-least-once delivery",
    ),
    Term(
        "엔티티", "entity", "02", "Eventuate's word for an aggregate instance: the entities table"
    ),
    Term(
        "이벤트 DB 스키마",
        "event database schema",
        "02",
        "Eventuate Local's events / entities / snapshots tables (schema.sql)",
    ),
    Term(
        "감사/통제", "auditing and control", "10", "the kept history answers who changed what, when"
    ),
    Term(
        "성능/확장성",
        "performance and scalability",
        "04",
        "why log tailing beats polling at scale; snapshots for long streams (05)",
    ),
    Term(
        "자바용 이벤추에이트 클라이언트",
        "Eventuate client framework for Java",
        "10",
        "ReflectiveMutableCommandProcessingAggregate, AggregateRepository, subscribers",
    ),
    Term(
        "새로운 프로그래밍 모델",
        "a new programming model",
        "10",
        "state changes only through events: a learning curve",
    ),
    Term(
        "메시징 기반 애플리케이션",
        "messaging-based application",
        "10",
        "complex: at-least-once delivery, idempotent consumers",
    ),
    Term("애그리거트 이력", "aggregate history", "10", "every change kept: audit, time machine"),
    Term(
        "객체 테이블(O/R) 임피던스 불일치",
        "object-relational impedance mismatch",
        "01",
        "the seed's heading (1.8): events avoid mapping object graphs to tables",
    ),
    Term(
        "불변식",
        "invariant",
        "12",
        "a rule an aggregate always keeps; process_* refuses to break it",
    ),
    Term(
        "Given-When-Then 테스트",
        "Given / When / Then",
        "12",
        "given past events, when a command, then new events or a refusal",
    ),
    Term(
        "사가 러너",
        "saga runner",
        "12",
        "wires orchestrator, relay, participants, broker; runs until quiet",
    ),
]


def markdown() -> str:
    """The glossary as a Markdown table (notebooks/GLOSSARY.md is this text)."""
    lines = [
        "# Glossary · 용어집",
        "",
        "The chapter notes this project grew from are Korean. Each term, its English name in",
        "the book, and the notebook that teaches it. (Generated by `python -m eslab glossary`.)",
        "† marks a standard term that the seed notes do not use (the notebooks do).",
        "",
        "| 한국어 | English | notebook | meaning |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {t.korean}{'' if t.in_seed else ' †'} | {t.english} | {t.notebook} | {t.meaning} |"
        for t in TERMS
    ]
    return "\n".join(lines) + "\n"
