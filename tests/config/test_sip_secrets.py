"""SIP passwords in the data directory: generated strong, checked, never reused, 0600."""

import stat

import pytest

from branchline.config.data_dir import DataDir
from branchline.config.sip_secrets import SipSecrets, WeakSecret


def test_generated_passwords_are_strong_distinct_and_kept_in_a_private_file(tmp_path):
    secrets = SipSecrets(DataDir(tmp_path).sip_secrets)
    one, two = secrets.generate("phone:desk1"), secrets.generate("phone:desk2")
    assert one != two and len(one) == 20
    assert secrets.password("phone:desk1") == one
    assert stat.S_IMODE(secrets.path.stat().st_mode) == 0o600
    assert one not in repr(secrets) and "phone:desk1" in repr(secrets)


def test_weak_and_reused_passwords_are_refused(tmp_path):
    secrets = SipSecrets(DataDir(tmp_path).sip_secrets)
    with pytest.raises(WeakSecret, match="too short"):
        secrets.set("trunk:carrier", "12345")
    with pytest.raises(WeakSecret, match="easy to guess"):
        secrets.set("trunk:carrier", "password123")
    secrets.set("trunk:carrier", "amber-violin-glacier-42")
    with pytest.raises(WeakSecret, match="another SIP account"):
        secrets.set("phone:desk1", "amber-violin-glacier-42")
    assert secrets.accounts() == ["trunk:carrier"]


def test_account_names_are_checked(tmp_path):
    with pytest.raises(ValueError, match="trunk:<name> or phone:<station>"):
        SipSecrets(tmp_path / "s.json").generate("desk1")
