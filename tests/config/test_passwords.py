"""Password strength: one rule for the web and SIP, said in both languages of the page."""

from __future__ import annotations

import pytest

from branchline.config.passwords import weak_password

SITE = ["Futian Branch 福田支行"]


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "1234567890", " " * 10, "password123",
                                      "qwertyuiop", "Futianbranch1", "branchline2024",
                                      "alice-alice-alice"])
def test_guessable_passwords_are_refused_with_why_and_what_passes(password):
    problem = weak_password(password, user="alice", site_words=SITE)
    assert problem is not None
    assert problem.english.endswith("use at least 10 characters that are not easy to guess, "
                                    "e.g. three or four unrelated words")
    assert problem.chinese.endswith("请使用至少 10 个不易猜到的字符，例如三四个互不相关的词")


def test_a_password_on_the_site_name_says_so():
    problem = weak_password("branchline2024", user="alice", site_words=SITE)
    assert problem.english.startswith("the password is built on 'branch', 'branchline', a "
                                      "word of this site or user")
    assert "攻击者会最先尝试" in problem.chinese


@pytest.mark.parametrize("password", ["copper kettle rain dancer", "branch-line-test-pw",
                                      "Wq7#vLp2!zRt"])
def test_hard_passwords_pass(password):
    assert weak_password(password, user="alice", site_words=SITE) is None


def test_length_bounds():
    assert weak_password("Xy7#q", user="a").english.startswith("the password is too short")
    assert weak_password("x" * 300, user="a").english.startswith("the password is longer than")
