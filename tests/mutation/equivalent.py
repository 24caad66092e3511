"""Surviving mutants judged equivalent: no test can tell them from the code, and why.

Keyed by mutmut's mutant name; a name drifts when its function changes, so re-judge then
(`mutmut show <name>` after `make mutation MODULES=<row>`). The kill rate does not discount
these: the threshold is met with them counted as survivors.
"""

_EVERY_STAGE_HAS_A_TITLE = (
    "step_titles() names every Stage, so the default of .get() is never used; a StrEnum key "
    "is found by its string too"
)

_GLOBAL_IS_NOT_PRIVATE = (
    "ipaddress's is_global is false for every private, loopback, link-local and unspecified "
    "address, so these tests after `is_global and` never decide alone"
)
_MODEL_NAMES_IGNORE_CASE = "apps.get_model() looks model names up without case"
_PK_LOOKUP = 'for field "pk" the general f"{field}__in" is "pk__in" too'
_ANONYMOUS_FILE = "TemporaryFile has no name on POSIX: its suffix is never seen"

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
    # forms
    "reception.forms.xǁPastedFieldǁ__init____mutmut_16": "CharField strips by default",
    "reception.forms.xǁSecretInputǁ__init____mutmut_2": (
        "render_value=None is as false as False: the value is never rendered"
    ),
    "reception.forms.xǁSecretInputǁ__init____mutmut_4": "PasswordInput's render_value is False",
    "reception.forms.xǁMailboxConfigurationFormǁ_clean_backup__mutmut_41": (
        'a missing user compared as "XXXX" instead of "": no e-mail address equals either'
    ),
    "reception.forms.xǁMailboxConfigurationFormǁ_require_plain_login__mutmut_6": (
        'a missing user read as "XXXX" instead of "": neither has a character to refuse'
    ),
    "reception.forms.xǁSecretRotationFormǁclean__mutmut_7": (
        "may_keep_current=None is as false as False: a rotation always wants a secret"
    ),
    # scoping
    "organizations.scoping.x_scope_queryset__mutmut_10": _PK_LOOKUP,
    "organizations.scoping.x_scope_queryset__mutmut_15": _PK_LOOKUP,
    "organizations.scoping.x_scope_queryset__mutmut_16": _PK_LOOKUP,
    # destinations
    "reception.transports.destinations.x_is_public_address__mutmut_3": (
        "ip_address() of an address object is that address"
    ),
    "reception.transports.destinations.x_is_public_address__mutmut_17": _GLOBAL_IS_NOT_PRIVATE,
    "reception.transports.destinations.x_is_public_address__mutmut_18": _GLOBAL_IS_NOT_PRIVATE,
    "reception.transports.destinations.x_normal_host__mutmut_5": (
        'the name is lowercased first, so rstrip("XX.XX") strips only dots, as rstrip(".")'
    ),
    "reception.transports.destinations.x_refused__mutmut_10": (
        "destination refusals are not in TRANSIENT_KINDS: transient=None gives False"
    ),
    "reception.transports.destinations.x_refused__mutmut_14": (
        "destination refusals are not in TRANSIENT_KINDS: the default transient is False"
    ),
    # roles
    "organizations.roles.x_role_groups_sync__mutmut_16": (
        "create_permissions() reads the models from the global registry instead of the "
        "migration's; both hold the same models while the migration is the latest"
    ),
    "organizations.roles.x_role_groups_sync__mutmut_18": (
        "create_permissions() prints only from verbosity 2"
    ),
    "organizations.roles.x_role_groups_sync__mutmut_28": _MODEL_NAMES_IGNORE_CASE,
    "organizations.roles.x_role_groups_sync__mutmut_29": _MODEL_NAMES_IGNORE_CASE,
    "organizations.roles.x_role_groups_sync__mutmut_38": _MODEL_NAMES_IGNORE_CASE,
    "organizations.roles.x_role_groups_sync__mutmut_39": _MODEL_NAMES_IGNORE_CASE,
    # exports
    "invoices.exports.x__plain_decimal__mutmut_7": (
        'format "F" differs from "f" only for NaN and infinity, which no amount is'
    ),
    "invoices.exports.x_xlsx_file__mutmut_18": _ANONYMOUS_FILE,
    "invoices.exports.x_xlsx_file__mutmut_19": _ANONYMOUS_FILE,
    "invoices.exports.x_xlsx_file__mutmut_20": _ANONYMOUS_FILE,
}
