"""Surviving mutants judged equivalent: no test can tell them from the code, and why.

Keyed by mutmut's mutant name; a name drifts when its function changes, so re-judge then
(`mutmut show <name>` after `make mutation MODULES=<row>`). The kill rate does not discount
these: the threshold is met with them counted as survivors.
"""

_EVERY_STAGE_HAS_A_TITLE = (
    "step_titles() names every Stage, so the default of .get() is never used; a StrEnum key "
    "is found by its string too"
)

EQUIVALENT: dict[str, str] = {
    # nit
    "organizations.nit.x_nit_check_digit__mutmut_11": "zip(strict=None) is zip(strict=False)",
    "organizations.nit.x_nit_check_digit__mutmut_14": "zip() without strict is strict=False",
    "organizations.nit.x_split_nit__mutmut_4": (
        'an empty value fails the pattern whether it is matched as "" or as "XXXX"'
    ),
    # status
    "reception.status.x_failure_reason__mutmut_22": _EVERY_STAGE_HAS_A_TITLE,
    "reception.status.x_failure_reason__mutmut_23": _EVERY_STAGE_HAS_A_TITLE,
    "reception.status.x_failure_reason__mutmut_24": _EVERY_STAGE_HAS_A_TITLE,
    "reception.status.x_failure_reason__mutmut_26": _EVERY_STAGE_HAS_A_TITLE,
    "reception.status.x_mailbox_record_failure__mutmut_30": (
        "the row was just read under select_for_update, so saving every field writes back the "
        "values it already has; only the two counted fields differ"
    ),
    # checks
    "invoices.dian.checks.x__number_key__mutmut_1": (
        "both sides of the comparison fold case the same way; upper() and lower() differ only "
        "for letters whose cases do not round-trip (ß), never in a DIAN prefix and number"
    ),
}
