"""The fetch's parse path (reception.processing): in order, on a pool or not, past hostile mail."""

from invoices.dian import DEFAULT_LIMITS, Outcome
from reception.processing import parse_many, parse_pool, parse_start
from tests.factories.dian import build_mail, make_zip
from tests.invoices.dian.test_hostile import BILLION_LAUGHS, _mail_with_xml, _mail_with_zip


def test_batch_on_two_processes_matches_one() -> None:
    raws = [build_mail(kind, seed=i).raw for i, kind in enumerate(["invoice", "credit_note"] * 4)]
    with parse_pool(2) as pool:
        on_pool = parse_many(raws, executor=pool, limits=DEFAULT_LIMITS)
    assert on_pool == parse_many(raws, executor=None, limits=DEFAULT_LIMITS)


def test_batch_continues_past_hostile_mail() -> None:
    good = build_mail().raw
    hostile = [
        b"",
        _mail_with_xml(BILLION_LAUGHS),
        _mail_with_zip(make_zip([("../x.xml", b"<a/>")])),
    ]
    results = parse_many(
        [hostile[0], good, hostile[1], good, hostile[2]], executor=None, limits=DEFAULT_LIMITS
    )
    assert [r.outcome for r in results] == [
        Outcome.MALFORMED_MIME,
        Outcome.OK,
        Outcome.XML_UNSAFE,
        Outcome.OK,
        Outcome.ZIP_UNSAFE,
    ]


def test_the_next_batch_may_be_submitted_before_the_previous_answers_are_read() -> None:
    """The fetch submits batch k+1, then decides batch k: answers stay with their batch."""
    first = [build_mail("invoice", seed=i).raw for i in range(9)]
    second = [build_mail("credit_note", seed=20 + i).raw for i in range(11)]
    with parse_pool(2) as pool:
        first_answers = parse_start(first, executor=pool, limits=DEFAULT_LIMITS)
        second_answers = parse_start(second, executor=pool, limits=DEFAULT_LIMITS)
        assert first_answers() == parse_many(first, executor=None, limits=DEFAULT_LIMITS)
        assert second_answers() == parse_many(second, executor=None, limits=DEFAULT_LIMITS)
        unread = parse_start(first, executor=pool, limits=DEFAULT_LIMITS)
    # Closing with a batch whose answers nobody read still ends the workers.
    assert unread() and all(not worker.is_alive() for worker, _pipe in pool._workers)


def test_workers_answer_without_the_files_bytes() -> None:
    raws = [build_mail("invoice", seed=i).raw for i in range(8)]
    with parse_pool(2) as pool:
        answers = parse_many(raws, executor=pool, limits=DEFAULT_LIMITS)
    assert all(a.ok and a.facts and a.xml is a.pdf is a.document_xml is None for a in answers)


def test_workers_read_stored_mail_by_its_name(private_storage_root) -> None:
    """The fetch gives the pool the names of the e-mails it stored, not their bytes."""
    from config.storage import content_save

    raws = [build_mail("invoice", seed=40 + i).raw for i in range(8)]
    names = [content_save(f"mail/1/{i:02}/{i}.eml", raw) for i, raw in enumerate(raws)]
    with parse_pool(2) as pool:
        by_name = parse_many(names, executor=pool, limits=DEFAULT_LIMITS)
    assert by_name == parse_many(raws, executor=None, limits=DEFAULT_LIMITS)
    assert all(answer.ok for answer in by_name)
