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
_NO_VALUE_WHEN_IN_ERROR = (
    "a field with an error has no value in cleaned_data (add_error removes it), so `not host` "
    "or `not port` has already stopped there"
)
_FIRST_PIECE = "the text before the first dash is the same however many times it is split"
_IN_PROCESS = (
    "parsing in this process instead of the pool gives the same result; only where it runs differs"
)
_NAME_OR_BYTES = (
    "the e-mail is stored before its parse starts: parsing it from its bytes or from its "
    "stored file by name gives the same result; only what crosses the pipe differs"
)
_ANONYMOUS_FILE = "TemporaryFile has no name on POSIX: its suffix is never seen"
_FACTS_ONLY_WHEN_OK = "the parser sets facts only on an OK result, so `ok` alone decides"
_KEYS_PER_DOCUMENT = "values_insert returns one key per row it was given: the lengths never differ"
_SAME_BYTES = "the file's name is its bytes' hash: writing it again writes the same bytes there"
_ONE_ANSWER_PER_SOURCE = "the parse answers once per source, in order: the lengths never differ"
_NO_SAVEPOINT = "None is as false as False: no savepoint either way"
_ONE_REGISTRATION_PER_ITEM = (
    "documents_plan answers one registration per item, in order: the lengths never differ"
)
_ONE_DECISION_PER_MESSAGE = "the decisions are one slot per new e-mail: the lengths never differ"
_CANDIDATES_REFILTERED = (
    "the candidates are matched again in Python by CUFE, or by number and type; the query "
    "only narrows them"
)

EQUIVALENT: dict[str, str] = {
    # nit
    "organizations.nit.x_nit_check_digit__mutmut_11": "zip(strict=None) is zip(strict=False)",
    "organizations.nit.x_nit_check_digit__mutmut_14": "zip() without strict is strict=False",
    "organizations.nit.x_normalize_nit__mutmut_9": _FIRST_PIECE,
    "organizations.nit.x_normalize_nit__mutmut_12": _FIRST_PIECE,
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
    "reception.forms.x__as_guid__mutmut_6": 'no value read as "XXXX" instead of "": no GUID either',
    "reception.forms.xǁMailboxConfigurationFormǁ__init____mutmut_6": (
        "a new mailbox has no server type yet: its stored type reads as empty either way"
    ),
    "reception.forms.xǁMailboxConfigurationFormǁ__init____mutmut_10": (
        "a new mailbox has no current secret and no stored password, the only things its "
        "changed connection fields are weighed against"
    ),
    "reception.forms.xǁMailboxConfigurationFormǁ_clean_destination__mutmut_8": (
        _NO_VALUE_WHEN_IN_ERROR
    ),
    "reception.forms.xǁMailboxConfigurationFormǁ_clean_destination__mutmut_9": (
        _NO_VALUE_WHEN_IN_ERROR
    ),
    **{
        f"reception.forms.xǁMailboxConfigurationFormǁ_clean_destination__mutmut_{n}": (
            _NO_VALUE_WHEN_IN_ERROR
        )
        for n in range(13, 19)
    },
    "reception.forms.xǁSecretRotationFormǁclean__mutmut_7": (
        "may_keep_current=None is as false as False: a rotation always wants a secret"
    ),
    # scoping
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
    # registration
    "invoices.services.x__decide__mutmut_2": _FACTS_ONLY_WHEN_OK,
    "invoices.services.x_documents_plan__mutmut_2": _FACTS_ONLY_WHEN_OK,
    "invoices.services.x_documents_register__mutmut_2": _NO_SAVEPOINT,
    "invoices.services.x_documents_write__mutmut_9": _NO_SAVEPOINT,
    "invoices.services.x_documents_plan__mutmut_12": (
        "the organization's CUFEs are only looked up by this batch's CUFEs: loading all of "
        "them answers the same"
    ),
    "invoices.services.x_documents_write__mutmut_28": _KEYS_PER_DOCUMENT,
    "invoices.services.x_documents_write__mutmut_31": _KEYS_PER_DOCUMENT,
    "invoices.services.x_documents_write__mutmut_33": _KEYS_PER_DOCUMENT,
    "invoices.services.x__document__mutmut_31": (
        "a document without a buyer NIT is rejected before it is built"
    ),
    "invoices.services.x__document__mutmut_42": (
        "a sum of Decimals started at 0 is the same Decimal; with no taxes 0 is stored as 0.00"
    ),
    "invoices.services.x__link_notes__mutmut_26": _CANDIDATES_REFILTERED,
    "invoices.services.x__link_notes__mutmut_27": _CANDIDATES_REFILTERED,
    # recording
    "reception.processing.x_messages_record__mutmut_6": _NO_SAVEPOINT,
    "reception.processing.x_messages_record__mutmut_21": _ONE_REGISTRATION_PER_ITEM,
    "reception.processing.x_messages_record__mutmut_24": _ONE_REGISTRATION_PER_ITEM,
    "reception.processing.x_messages_record__mutmut_25": _ONE_REGISTRATION_PER_ITEM,
    "reception.processing.x_messages_record__mutmut_39": _ONE_DECISION_PER_MESSAGE,
    "reception.processing.x_messages_record__mutmut_42": _ONE_DECISION_PER_MESSAGE,
    "reception.processing.x_messages_record__mutmut_43": _ONE_DECISION_PER_MESSAGE,
    # fetching
    "reception.fetching.xǁ_Fetchǁrun__mutmut_1": (
        "the POP3 branch replaces the list before it is read, and an IMAP run leaves it "
        "false either way"
    ),
    "reception.fetching.xǁ_Fetchǁrun__mutmut_12": (
        "the deletions are counted here only, once per run, from 0: = is +="
    ),
    "reception.fetching.xǁ_Fetchǁ_imap_start__mutmut_20": (
        "an oversized message's hash is never read: it is left out of the renumbering match "
        "and its row keeps no hash"
    ),
    "reception.fetching.xǁ_Fetchǁ_parse_start__mutmut_4": _IN_PROCESS,
    "reception.fetching.xǁ_Fetchǁ_parse_start__mutmut_11": _IN_PROCESS,
    "reception.fetching.xǁ_Fetchǁ_parse_start__mutmut_7": _NAME_OR_BYTES,
    "reception.fetching.xǁ_Fetchǁ_parse_start__mutmut_8": _NAME_OR_BYTES,
    "reception.fetching.xǁ_Fetchǁ_parse_start__mutmut_20": _ONE_ANSWER_PER_SOURCE,
    "reception.fetching.xǁ_Fetchǁ_parse_start__mutmut_23": _ONE_ANSWER_PER_SOURCE,
    "reception.fetching.xǁ_Fetchǁ_parse_start__mutmut_24": _ONE_ANSWER_PER_SOURCE,
    "reception.fetching.xǁ_Fetchǁ_store__mutmut_33": _SAME_BYTES,
    "reception.fetching.xǁ_Fetchǁ_store__mutmut_36": _SAME_BYTES,
    "reception.fetching.xǁ_Fetchǁ_store__mutmut_41": _SAME_BYTES,
    "reception.fetching.xǁ_Fetchǁ_store__mutmut_37": (
        "nothing reads or removes stored mail by its folder: each row names its own file, "
        "and the same bytes are the same file either way"
    ),
    "reception.fetching.xǁ_Fetchǁ_record__mutmut_15": (
        "the folder state is the fetch's own under its lock: saving every field writes back "
        "the values it already has"
    ),
    "reception.fetching.xǁ_Fetchǁ_pop3__mutmut_10": (
        "a query per key instead of per chunk of keys finds the same rows"
    ),
    "reception.fetching.xǁ_Fetchǁ_back_up__mutmut_5": (
        "every listed row has been decided before the backup (leftovers first, then each new "
        "batch): no pending row is there to exclude"
    ),
    "reception.fetching.xǁ_Fetchǁ_delete__mutmut_1": (
        "refreshing every field reads the same status and confirmation; nothing after it "
        "reads another field of the mailbox that a fetch could see changed"
    ),
}
