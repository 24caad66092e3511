"""The fetch's parse path (reception.processing): in order, on a pool or not, past hostile mail."""

from invoices.dian import DEFAULT_LIMITS, Outcome
from reception.processing import parse_many, parse_pool
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
