# ruff: noqa: E501 - one message per line, as in the page's catalogue
"""The English words of every problem the document's own checks report, by key.

As in ``branchline.ivr`` and ``branchline.acd`` (whose keys the checker passes on): an issue
names its message and fix by key with one set of parameters, so the config page can say it
in Chinese (``config/web/i18n/issues.py``; a test checks every key of the three tables has a
Chinese text with the same placeholders). ``said(key, params)`` is the English text.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ISSUE_TEXTS", "KeyedValueError", "said"]

ISSUE_TEXTS: dict[str, str] = {
    # --- a section's fields, as pydantic found them (issues.py)
    "doc.missing_field": "required field {name!r} is missing",
    "doc.unknown_field": "unknown field {name!r}",
    "doc.not_allowed_value": "{value} is not one of the allowed values",
    "doc.unknown_kind": "unknown kind {kind}",
    "doc.no_kind": "the node has no 'kind'",
    "doc.mapping_expected": "expected a mapping of fields here, found {value}",
    "doc.mapping_expected_list": "expected a mapping of fields here, found a list",
    "doc.read_as_number": "{value} was read as a number, not as text",
    "doc.list_expected": "expected a list here, found {value}",
    "doc.list_expected_mapping": "expected a list here, found a mapping",
    "doc.pattern_mismatch": "{value} does not have the expected form",
    "doc.not_accepted": "{value} is not accepted",
    "doc.mapping_not_accepted": "a mapping is not accepted here",
    "doc.list_not_accepted": "a list is not accepted here",
    "doc.value_error": "{problem}",
    # --- sections (loading.py)
    "doc.unknown_section": "unknown section {name!r}",
    "doc.missing_section": "required section {name!r} is missing",
    # --- the YAML text itself (yaml_text.py)
    "doc.yaml_syntax": "not valid YAML: {problem}",
    "doc.yaml_syntax_at": "not valid YAML: {problem} (column {column})",
    "doc.yaml_empty": "the document is empty",
    "doc.yaml_not_sections": "the document is not a mapping of sections",
    "doc.yaml_too_deep": "the document nests lists and mappings more than {limit} deep",
    "doc.yaml_value_too_long": "a value is {length} characters long, over the {limit} allowed",
    "doc.yaml_number_too_long": "a number is written with {length} characters, over the {limit} allowed",
    "doc.yaml_too_many_values": "the document expands to more than {limit} values (aliases repeating aliases?)",
    "doc.yaml_alias_inside_itself": "an alias refers to the collection it is inside",
    "doc.yaml_key_not_plain": "a mapping key is not a plain value",
    "doc.yaml_key_twice": "key {key!r} appears twice in one mapping (first on line {first})",
    # --- across sections (checks.py)
    "doc.prompt_name_slash": "prompt names may not contain '/' (it marks spoken-value units)",
    "doc.prompt_unused": "no flow plays {name!r}",
    "doc.users_unused": "users are not used yet: the web service that signs people in will read them",
    "doc.line_no_port": "the board has no port {port!r}",
    "doc.line_on_station": "{port!r} is a station (an agent's phone), not a trunk",
    "doc.line_unknown_flow": "unknown flow {flow!r}",
    "doc.tone_not_of_country": "{tone!r} is not a {country} tone",
    "doc.trunks_unanswered": "no line is configured for {ports}: calls on them are not answered",
    "doc.station_no_port": "the board has no port {station!r}",
    "doc.station_is_trunk": "{station!r} is a trunk, not a station",
    "doc.agent_id_not_keyable": "agent id {agent_id!r} cannot be keyed at a phone (agents log in with *11<id>#)",
    "doc.flow_name_differs": "the flow is named {name!r} under flows.{flow}",
    "doc.flow_language_not_site": "offers {languages}, which the site does not",
    "doc.language_no_agent.zh": "no agent of queue {queue!r} has the skills {skills}: Mandarin callers would wait for an agent who never comes",
    "doc.language_no_agent.yue": "no agent of queue {queue!r} has the skills {skills}: Cantonese callers would wait for an agent who never comes",
    "doc.language_no_agent.en": "no agent of queue {queue!r} has the skills {skills}: English callers would wait for an agent who never comes",
    "doc.host_timeout_unreachable": "the node waits {waits:g} s but the {endpoint!r} request gives up after {gives_up:g} s, so on_timeout is never taken",
    "doc.vip_twice": "{number!r} is the same number as vip_numbers.{other} ({e164})",
    "doc.codec_unusual": "{codec} on {country} lines; the {country} network uses {usual}",
    # --- numbers (numbers.py)
    "doc.number_not_international": "{text!r} is not an international number",
    "doc.number_not_digits": "{text!r} has characters that are not digits",
    "doc.number_incomplete": "{text!r} is not a complete national number ({count} digits after the trunk prefix)",
    # --- one section's own rules (model.py)
    "doc.timezone_unknown": "{value!r} is not a time zone this appliance knows",
    "doc.languages_twice": "{languages} listed more than once",
    "doc.driver_not_url": "driver {value!r} is neither 'sim' nor a driver URL",
    "doc.board_too_big": "{count} {field} on driver {driver!r}",
    "doc.not_dialled_number": "{value!r} is not a dialled number",
    "doc.line_never_hears_hangup": "no hang-up tone and no loop-current drop: the appliance would never know the caller hung up",
    "doc.not_url_path": "{value!r} is not a URL path",
    "doc.not_http_url": "{value!r} is not an http(s) URL",
    "doc.endpoint_name": "endpoint name {name!r} must be lower-case letters, digits, '_', '.' or '-'",
    "doc.code_slot": "{code!r} must contain {slot} once",
    "doc.code_not_keypad": "{code!r} is not a keypad code",
    "doc.reason_not_digit": "{digit!r} is not one digit",
    "doc.reason_name": "reason {digit}: {reason!r} must be lower-case letters, digits or '_'",
    "doc.disposition_code": "wrap-up code {code!r} must be up to 32 lower-case letters, digits or '_' with a label of 1 to 60 characters",
    "doc.codes_alike": "the {name} and {other} codes start alike ({prefix!r}, {other_prefix!r}), so one cannot be told from the other",
    "doc.sip_address": "{value!r} is not an IP address and port",
    "doc.sip_source": "{value!r} is not an IP address",
    "doc.sip_register_needs": "a trunk that registers needs its registrar's address and the user it registers as",
    "doc.sip_extension": "extension {value!r} is not 2 to 8 digits",
    "doc.sip_extension_twice": "extension {extension!r} is given to {station!r} and to {other!r}",
    "doc.sip_rtp_ports": "RTP ports {low}-{high} are not a range within 1024-65535",
    "doc.sip_name": "{name!r} must be lower-case letters, digits, '.', '_' or '-'",
    "doc.sip_station_taken": "station {station!r} is already a port of the board",
    "doc.transfer_not_allowed": "transfer target {target!r} is not in sip.transfer_targets "
                                "({allowed}): SIP calls would not be transferred there",
    "doc.call_code_clash": "{name} {code!r} also reads as the agent code {action} {other!r}: a station would take one for the other",
    "doc.hold_music_unknown": "music on hold {prompt!r} is not a prompt of the document",
    "doc.monitor_unknown_agent": "supervisor {user} may monitor agent {name!r}, which is not configured",
    "doc.monitor_unknown_queue": "supervisor {user} may monitor queue {name!r}, which is not configured",
    "doc.transfer_queue_unknown": "transfers go to queue {name!r}, which is not configured",
    "doc.supervisor_station": "the board has no station {station!r} for the supervisor",
    # --- fixes
    "doc.fix.value_error": "{fix}",
    "doc.fix.add_field": "add {name} ({guide} lists the fields)",
    "doc.fix.did_you_mean": "did you mean {close!r}?",
    "doc.fix.fields_here": "remove it; the fields here are {fields}",
    "doc.fix.remove_or_spell": "remove it or correct its spelling ({guide} lists the fields)",
    "doc.fix.use_one_of": "use one of {expected}",
    "doc.fix.set_kind": "set kind to one of {kinds}",
    "doc.fix.add_kind": "add kind: one of {kinds}",
    "doc.fix.write_mapping": "write it as 'field: value' lines indented under it, or {{field: value, ...}}",
    "doc.fix.quote_it": "put it in quotes: YAML drops leading zeros and reads digits after a 0 as octal",
    "doc.fix.write_list": "write it as [a, b] or as '- item' lines",
    "doc.fix.match_pattern": "write it to match the pattern {pattern}",
    "doc.fix.greater_than": "it should be greater than {limit}",
    "doc.fix.greater_than_equal": "it should be greater than or equal to {limit}",
    "doc.fix.less_than": "it should be less than {limit}",
    "doc.fix.less_than_equal": "it should be less than or equal to {limit}",
    "doc.fix.whole_number": "it should be a whole number",
    "doc.fix.number": "it should be a number",
    "doc.fix.true_false": "it should be true or false",
    "doc.fix.text": "it should be text",
    "doc.fix.enum": "it should be {expected}",
    "doc.fix.at_least_items": "it should have at least {limit} item(s)",
    "doc.fix.at_most_items": "it should have at most {limit} item(s)",
    "doc.fix.at_least_characters": "it should have at least {limit} character(s)",
    "doc.fix.at_most_characters": "it should have at most {limit} character(s)",
    "doc.fix.pydantic": "{should}",
    "doc.fix.yaml_syntax": "fix the YAML syntax there (indent with spaces, never tabs; quote '*', '#', '0' and values that start with a special character)",
    "doc.fix.yaml_empty": "start from the bundled default (branchline config show)",
    "doc.fix.yaml_sections": "write sections like 'site:', 'board:', 'flows:' at the top level",
    "doc.fix.yaml_too_deep": "a configuration needs far fewer levels; remove the extra brackets or indentation",
    "doc.fix.yaml_value_too_long": "shorten it (a prompt's text is a few sentences)",
    "doc.fix.yaml_number_too_long": "write a number of sensible size, or quote it if it is meant as text",
    "doc.fix.yaml_too_many_values": "write the values out or use fewer aliases",
    "doc.fix.yaml_alias_inside_itself": "an alias must not contain itself; write the value out",
    "doc.fix.yaml_key_not_plain": "write keys as plain text",
    "doc.fix.yaml_key_twice": "keep one of them; YAML would silently use the last",
    "doc.fix.sections_are": "the sections are {sections}",
    "doc.fix.add_section": "add {name}: (see docs/configuration.md)",
    "doc.fix.group_with_dots": "group names with dots, like main.long",
    "doc.fix.delete_or_use_prompt": "delete it, or use it in a flow",
    "doc.fix.leave_users_empty": "leave the section empty",
    "doc.fix.use_a_trunk": "use one of its trunks: {trunks}",
    "doc.fix.lines_on_trunks": "configure lines on trunk ports (fxo...)",
    "doc.fix.name_a_flow": "name one of the flows: {flows}",
    "doc.fix.name_a_flow_none": "name one of the flows: (none written)",
    "doc.fix.use_a_tone": "use one of {tones}",
    "doc.fix.line_per_trunk": "add a line for each trunk that carries calls",
    "doc.fix.use_a_station": "use one of its stations: {stations}",
    "doc.fix.use_one_of_stations": "use one of: {stations}",
    "doc.fix.digits_only": "use digits only, like '1001'",
    "doc.fix.write_flow_name": "write flow: {flow}",
    "doc.fix.site_languages": "add it to site.languages or remove it here",
    "doc.fix.give_skill": "give an agent of {queue!r} the skill {lang!r}, or set language_skill: false",
    "doc.fix.endpoint_timeout": "set host.endpoints.{endpoint}.timeout to at least {waits:g} s, or lower this timeout",
    "doc.fix.number_once": "list each number once",
    "doc.fix.usual_codec": "use {usual} unless the exchange says otherwise",
    "doc.fix.international": "write + and 8 to {most} digits, like +{code}...",
    "doc.fix.area_code": "write it with its area code, like {example}, or in E.164 like +{code}...",
    "doc.fix.iana_zone": "use an IANA zone name like 'Asia/Shanghai' or 'America/New_York'",
    "doc.fix.language_once": "list each language once",
    "doc.fix.driver_url": "write 'sim' for the simulated board or a URL like 'serial:///dev/ttyUSB0'",
    "doc.fix.board_size": "a board has at most {limit} (only the simulated board, driver 'sim', takes more)",
    "doc.fix.dialled_number": "write 3 to 15 digits as the exchange delivers them, like '075588880001' (quoted)",
    "doc.fix.hangup_tones": "list the exchange's tones (busy, congestion) or set loop_current_drop if the line drops loop current",
    "doc.fix.url_path": "write it from the base URL on, starting with '/', like '/ivr/balance'",
    "doc.fix.http_url": "write one like 'https://host.bank.example:8443/ivr' or 'simulator'",
    "doc.fix.rename_endpoint": "rename it, like 'card_loss'",
    "doc.fix.write_code_like": "write it like {example!r}",
    "doc.fix.keypad_code": "use digits, '*' and '#', starting with '*' so it cannot be taken for a number, like {example!r}",
    "doc.fix.reason_digit": "key each reason by a single digit 0-9",
    "doc.fix.reason_name": "name it like 'lunch'",
    "doc.fix.disposition_code": "write it like resolved: 已解决 resolved",
    "doc.fix.own_first_keys": "give each code its own first keys",
    "doc.fix.own_keys": "give {name} keys no agent code uses (the agent codes start with *1 by default)",
    "doc.fix.hold_music": "name a prompt of the document, like {prompts}, or add it under prompts",
    "doc.fix.name_configured": "use one of {known}",
    "doc.fix.sip_address": "write it like 10.1.2.3:5060 ([::1]:5060 for IPv6)",
    "doc.fix.sip_source": "write the address calls come from, like 10.1.2.3",
    "doc.fix.sip_register_needs": "give address and user, or set registers: false",
    "doc.fix.sip_extension": "use the digits agents and phones dial, like 801",
    "doc.fix.sip_extension_once": "give each phone its own extension",
    "doc.fix.sip_rtp_ports": "give a low and a high port, like [20000, 20999]",
    "doc.fix.sip_name": "name it like desk1 or carrier",
    "doc.fix.sip_station_other_name": "name the phone's station differently from the board's ports",
    "doc.fix.transfer_target": "add {target!r} to sip.transfer_targets, or transfer to one of them",
}


def said(key: str, params: Mapping[str, object]) -> str:
    return ISSUE_TEXTS[key].format(**params)


class KeyedValueError(ValueError):
    """A section's problem raised from a model validator (or ``normalise_number``), with its
    message and fix keys; pydantic keeps the exception, so the checker reads the keys. The
    text is "problem; fix"."""

    def __init__(self, key: str, fix_key: str, /, **params: object) -> None:
        self.key = key
        self.fix_key = fix_key
        self.params = params
        self.problem = said(key, params)
        self.fix = said(fix_key, params)
        super().__init__(f"{self.problem}; {self.fix}")
