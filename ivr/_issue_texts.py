# ruff: noqa: E501 - one message per line, as in the page's catalogue
"""The English words of every problem the flow model and the validator report, by key.

An issue names its message and its fix by key (``"ivr.unknown_node"``, ``"ivr.fix.did_you_mean"``)
with one set of parameters for both, so the config page can show the same problem in Chinese
(``config/web/i18n/issues.py`` holds those texts; a test checks every key here has one with the
same placeholders). ``said(key, params)`` is the English text.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ISSUE_TEXTS", "KeyedValueError", "said"]

ISSUE_TEXTS: dict[str, str] = {
    # --- the validator (_validator.py)
    "ivr.unknown_node": "unknown node {name!r}",
    "ivr.unknown_subflow": "unknown subflow {name!r}",
    "ivr.unknown_target": "unknown target {name!r}",
    "ivr.main_menu_not_menu": "{name!r} is a {kind} node, not a menu",
    "ivr.unreachable": "unreachable: no path from start leads here",
    "ivr.no_way_out": "no way out: no path from here ends the call or reaches a person",
    "ivr.loop_without_input": "loop without caller input: {loop}",
    "ivr.subflow_recursion": "subflow calls itself (directly or through another subflow)",
    "ivr.option_collides_operator": "option {key!r} collides with the global operator key {global_key!r}",
    "ivr.option_collides_back": "option {key!r} collides with the global back key {global_key!r}",
    "ivr.option_collides_repeat": "option {key!r} collides with the global repeat key {global_key!r}",
    "ivr.option_prefix": "option {key!r} is a prefix of {longer}: every caller who presses {key} waits the {seconds:g} s inter-digit timeout",
    "ivr.unknown_queue": "unknown queue {name!r}",
    "ivr.unknown_endpoint": "unknown host endpoint {name!r}",
    "ivr.unknown_caller_attribute": "unknown caller attribute {name!r}",
    "ivr.prompt_missing_language": "prompt {prompt!r} has no text or recording in {languages}",
    "ivr.variable_maybe_unset": "variable {var!r} may be read before it is set: some path from start reaches here without a collect or host node that sets it",
    "ivr.variable_sensitive": "variable {var!r} is sensitive and would be shown to the agent",
    "ivr.too_many_options": "{count} options; the bank's rule is at most {limit} per menu",
    "ivr.no_person_key": "no key in this menu leads to a person",
    "ivr.menu_too_deep": "menu nested {level} deep ({chain}); the bank's rule is at most {limit}",
    "ivr.main_menu_prompts": "the main menu plays {count} prompts; the options must come first",
    # --- the older callers' settings (_older_checks.py)
    "ivr.older_no_person_prompt": "older callers hear no prompt saying how to reach a person (older_callers.person_prompt is empty)",
    "ivr.older_person_prompt_unheard": "the older callers' person prompt is never played: the flow has no operator key (keys.operator)",
    "ivr.older_person_prompt_missing": "the older callers' person prompt {prompt!r} has no text or recording in {languages}",
    "ivr.older_key_global_operator": "the older callers' key {key!r} is the flow's operator key: in the first menu it would turn the mode on instead of reaching a person",
    "ivr.older_key_global_back": "the older callers' key {key!r} is the flow's back key: in the first menu it would turn the mode on instead of going back",
    "ivr.older_key_global_repeat": "the older callers' key {key!r} is the flow's repeat key: in the first menu it would turn the mode on instead of repeating",
    "ivr.older_key_option": "the older callers' key {key!r} is taken by option {option!r} of {menu!r}, where callers can press it before choosing anything: there it would turn the mode on instead",
    "ivr.older_host_var_unset": "older_callers.host_var {var!r}: no host node sets this variable, so the bank host can never turn the mode on",
    "ivr.older_class_missing": "queue {queue!r} has no class of priority {priority} for older callers (its classes: {classes}); they would wait as {klass!r}",
    "ivr.older_class_default": "queue {queue!r}: priority {priority} gives class {klass!r}, the queue's default class, so older callers would get no priority of their own",
    "ivr.older_class_shared": "queue {queue!r}: the older callers' class {klass!r} (priority {priority}) is also the class node {node!r} queues every caller in",
    "ivr.older_speed": "older callers' speed {speed}: prompts can be played at 0.5 to 1.0 times their speed",
    # --- the flow model (_model.py)
    "ivr.say_one_source": "give exactly one of var (a variable to read) or value (a literal)",
    "ivr.option_not_keypad": "option key {key!r} is not made of keypad keys {keys}",
    "ivr.menu_no_options": "a menu needs at least one option",
    "ivr.regex_invalid": "regex does not compile: {error}",
    "ivr.collect_lengths": "min_length {min_length} is above max_length {max_length}",
    "ivr.terminator": "terminator must be '#', '*' or null",
    "ivr.confirm_prompts": "confirm: true needs confirm_prompt and confirm_options_prompt",
    "ivr.mask_last4": "mask: last4 is only allowed when min_length >= 12, so at most a third of the number shows",
    "ivr.condition_combining": "a combining condition has exactly one of all/any/not and nothing else",
    "ivr.condition_simple": "a condition is var plus exactly one of eq, ne, in, gt, ge, lt, le, prefix, is_set",
    "ivr.opening_range": "opening range {text!r} is not HH:MM-HH:MM with start < end",
    "ivr.global_key_single": "global key {key!r} must be a single keypad key",
    "ivr.global_keys_differ": "operator, back and repeat keys must differ",
    "ivr.default_language": "default_language {language!r} is not in languages {languages}",
    # --- fixes
    "ivr.fix.correct_value": "correct the value",
    "ivr.fix.did_you_mean": "did you mean {close!r}?",
    "ivr.fix.name_one_of": "name one of: {names}",
    "ivr.fix.did_you_mean_return": "did you mean {close!r}? ('return' only works inside a subflow)",
    "ivr.fix.name_one_of_return": "name one of: {names} ('return' only works inside a subflow)",
    "ivr.fix.main_menu": "name the menu callers reach first after language choice",
    "ivr.fix.link_or_delete": "link it from a menu option or another node, or delete it",
    "ivr.fix.lead_to_exit": "lead it to a hangup, transfer or queue node",
    "ivr.fix.break_loop": "put a menu, a collect or a hangup in the loop; otherwise it repeats until the visit limit",
    "ivr.fix.no_recursion": "subflows may not recurse; use a menu loop instead",
    "ivr.fix.other_key_operator": "use another key; {global_key!r} is the operator key in every menu",
    "ivr.fix.other_key_back": "use another key; {global_key!r} is the back key in every menu",
    "ivr.fix.other_key_repeat": "use another key; {global_key!r} is the repeat key in every menu",
    "ivr.fix.renumber": "renumber so no option is the start of another (move {longer} to a free key or a sub-menu)",
    "ivr.fix.use_one_of": "use one of {names}",
    "ivr.fix.add_prompt_language": "add it to the prompt catalogue for that language",
    "ivr.fix.add_prompt_languages": "add it to the prompt catalogue for those languages",
    "ivr.fix.set_before_read": "set {var!r} on every path to this node, or read it only after the node that sets it",
    "ivr.fix.remove_from_data": "remove it from data",
    "ivr.fix.sub_menu": "group options into a sub-menu",
    "ivr.fix.operator_key": "turn on the operator key (keys.operator) or add an option that reaches a queue or transfer",
    "ivr.fix.flatten": "flatten the menu tree",
    "ivr.fix.options_first": "move greetings and notices out of the main menu, keep one prompt that lists the options",
    "ivr.fix.lengths": "make min_length <= max_length",
    "ivr.fix.mask_full": "use mask: full",
    "ivr.fix.older_person_prompt": "name a prompt for older_callers.person_prompt that says which key reaches a person",
    "ivr.fix.older_operator_key": "turn on the operator key (keys.operator), or remove older_callers.person_prompt",
    "ivr.fix.older_key_other": "choose another older_callers.key: one that is neither a global key nor an option of a menu callers reach before choosing",
    "ivr.fix.older_host_var": "add {var!r} to the results of the host node that looks the caller up, or remove older_callers.host_var",
    "ivr.fix.older_class_add": "add a class of priority {priority} to queue {queue!r} (acd.queues), or set older_callers.queue_priority to the priority of a class kept for older callers",
    "ivr.fix.older_class_own": "give older callers a class of their own in queue {queue!r}: one no other caller of the flow is queued in, not the default class",
    "ivr.fix.older_speed": "give a speed from 0.5 (prompts twice as long) to 1.0 (as recorded); 0.8 plays them a quarter longer",
}


def said(key: str, params: Mapping[str, object]) -> str:
    return ISSUE_TEXTS[key].format(**params)


class KeyedValueError(ValueError):
    """A flow field's problem raised from a model validator, with its message and fix keys.

    pydantic keeps the exception (``ctx["error"]``), so the checker takes the keys from it;
    the text stays "problem; fix" (or only the problem when there is no particular fix) for
    readers of the plain message.
    """

    def __init__(self, key: str, fix_key: str | None = None, /, **params: object) -> None:
        self.key = key
        self.fix_key = fix_key or "ivr.fix.correct_value"
        self.params = params
        self.problem = said(key, params)
        self.fix = said(self.fix_key, params)
        super().__init__(f"{self.problem}; {self.fix}" if fix_key else self.problem)
