"""check_document never raises: any text, any damage to the default, comes back as a report."""

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branchline.config.document.loading import check_document, default_document_text

DEFAULT = yaml.safe_load(default_document_text())
_INTERNALS = ("Input should", "function-after", "Value error", "instance of", "[type=")


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _paths(value, (*prefix, i))


PATHS = [p for p in _paths(DEFAULT) if p]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**12), st.floats(allow_nan=True),
    st.text(max_size=12), st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _check(text):
    document, report = check_document(text)
    assert (document is None) == bool(report.errors)
    for issue in report.errors + report.warnings:
        assert issue.message and issue.fix
        for internal in _INTERNALS:
            assert internal not in str(issue), str(issue)
    return report


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_a_report(text):
    _check(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=3))
def test_any_damage_to_the_default_gives_a_report_with_paths(edits):
    data = yaml.safe_load(default_document_text())
    for path, value in edits:
        target = data
        try:
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit replaced a parent of this path
    report = _check(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    for issue in report.errors:
        assert issue.path, str(issue)
