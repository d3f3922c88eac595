"""The pseudonym: HMAC-SHA256 against an independent vector, the UDF, the key."""

import hashlib
import hmac
import stat
import subprocess
import sys

import duckdb
import pytest

from orchestration.dbt.keys import KEY_ENV, PseudonymKeyError, ensure_key, load_key
from orchestration.dbt.pseudonym_plugin import pseudonym, register
from orchestration.settings import get_settings

# RFC 4231, test case 2.
RFC4231_KEY = b"Jefe"
RFC4231_DATA = "what do ya want for nothing?"
RFC4231_HMAC_SHA256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_pseudonym_is_hmac_sha256_hex():
    assert pseudonym(RFC4231_DATA, RFC4231_KEY) == RFC4231_HMAC_SHA256
    assert pseudonym(RFC4231_DATA, "Jefe") == RFC4231_HMAC_SHA256
    expected = hmac.new(b"k3y", b"420399198006152426", hashlib.sha256).hexdigest()
    assert pseudonym("420399198006152426", b"k3y") == expected
    assert pseudonym(None, b"k3y") is None


def test_udf_matches_the_function_null_in_null_out():
    con = duckdb.connect()
    register(con, RFC4231_KEY)
    con.execute(
        "create table ids as select * from (values (?), (null), ('420399200901050121')) t(v)",
        [RFC4231_DATA],
    )
    rows = con.execute("select v, eduaid_pseudonym(v) from ids").fetchall()
    assert rows == [(v, pseudonym(v, RFC4231_KEY)) for v, _ in rows]
    assert rows[0][1] == RFC4231_HMAC_SHA256 and rows[1][1] is None
    # Vectorised over more than one chunk.
    many = con.execute(
        "select count(distinct eduaid_pseudonym(i::varchar)) from range(5000) r(i)"
    ).fetchone()
    assert many == (5000,)


def test_missing_key_names_the_variables(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("EDUAID_KEY_FILE", str(tmp_path / "nope"))
    with pytest.raises(PseudonymKeyError, match=r"EDUAID_PSEUDONYM_KEY.*EDUAID_KEY_FILE"):
        load_key()
    con = duckdb.connect()
    register(con)  # still registered: parse and compile work without a key
    with pytest.raises(duckdb.Error, match="EDUAID_PSEUDONYM_KEY"):
        con.execute("select eduaid_pseudonym('x')").fetchall()


def test_ensure_key_creates_a_private_key_once(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("EDUAID_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.delenv("EDUAID_KEY_FILE", raising=False)
    settings = get_settings()
    assert settings.key_file == tmp_path / ".eduaid_key"
    assert ensure_key(settings) == settings.key_file
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    key = load_key()
    assert len(key) == 64 and int(key, 16) >= 0
    assert ensure_key(settings) is None and load_key() == key
    # The environment variable wins over the file, and no file is written then.
    monkeypatch.setenv(KEY_ENV, "from-env")
    assert load_key() == b"from-env"
    monkeypatch.setenv("EDUAID_WAREHOUSE", str(tmp_path / "other" / "warehouse"))
    assert ensure_key(get_settings()) is None
    assert not (tmp_path / "other" / ".eduaid_key").exists()


def test_plugin_import_is_light():
    code = (
        "import sys, orchestration.dbt.pseudonym_plugin, orchestration.dbt.keys; "
        "print('dagster' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
