"""Rows inserted by the thousand get their keys back, within their scope only."""

from __future__ import annotations

import pytest

from config.rows import rows_insert
from organizations.services import organization_add
from reception.models import IncomingMessage
from tests.factories.mailboxes import make_mailbox

pytestmark = pytest.mark.django_db


def mailbox_of(nit: str):
    return make_mailbox(organization_add(nit=nit, name=f"Empresa {nit}")[0])


def rows(mailbox, count: int, prefix: str = "imap:INBOX:1:") -> list[IncomingMessage]:
    return [
        IncomingMessage(mailbox=mailbox, server_key=f"{prefix}{uid}", uid=uid, size=uid)
        for uid in range(1, count + 1)
    ]


def test_each_inserted_row_gets_its_own_primary_key_beyond_one_query_of_keys():
    mailbox = mailbox_of("900373115")
    inserted = rows(mailbox, 1_203)  # three reads of the keys: 500, 500 and 203

    rows_insert(IncomingMessage, inserted, key="server_key", scope={"mailbox": mailbox})

    stored = dict(IncomingMessage.objects.values_list("pk", "uid"))
    assert len(stored) == 1_203
    assert all(stored[row.pk] == row.uid for row in inserted)
    assert not any(row._state.adding for row in inserted)


def test_the_same_key_in_another_scope_is_not_taken_for_the_new_row():
    mine, theirs = mailbox_of("900373115"), mailbox_of("800197268")
    older = rows(theirs, 3)
    rows_insert(IncomingMessage, older, key="server_key", scope={"mailbox": theirs})
    mine_rows = rows(mine, 3)

    rows_insert(IncomingMessage, mine_rows, key="server_key", scope={"mailbox": mine.pk})

    assert {row.pk for row in mine_rows}.isdisjoint({row.pk for row in older})
    assert set(IncomingMessage.objects.filter(mailbox=mine).values_list("pk", flat=True)) == {
        row.pk for row in mine_rows
    }


def test_it_refuses_to_read_keys_back_by_a_column_the_database_may_store_differently():
    mailbox = mailbox_of("900373115")

    with pytest.raises(TypeError, match="plain column"):
        rows_insert(IncomingMessage, rows(mailbox, 1), key="sent_at", scope={"mailbox": mailbox})
