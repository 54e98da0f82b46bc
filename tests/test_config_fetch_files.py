"""Declarations of the file transports (sftp, ftp, ftps, inbox) and the worker's lookback."""

from __future__ import annotations

import pytest

from tally.config import parse
from tally.errors import ConfigError

PAYPAL = """
[sources.paypal]
kind = "paypal"
timezone = "America/Los_Angeles"
[sources.paypal.fetch]
transport = "sftp"
host = "reports.paypal.com"
username = "merchant"
password_env = "TALLY_PAYPAL_SFTP_PASSWORD"
host_key = "SHA256:5juXvOiQg1LA79VFwIvbJCIG6PO+Nse94VflEIjdDos"
remote_dir = "/ppreports/outgoing"
pattern = "STL-{yyyymmdd}.*.CSV"
ready_time = "12:00"
deadline = "15:00"
lookback_days = 3
"""


def test_a_paypal_sftp_source_is_accepted() -> None:
    fetch = parse(PAYPAL).sources["paypal"]["fetch"]
    assert (fetch["transport"], fetch["lookback_days"]) == ("sftp", 3)


@pytest.mark.parametrize(("change", "field"), [
    (('host_key = "SHA256:5juXvOiQg1LA79VFwIvbJCIG6PO+Nse94VflEIjdDos"\n', ""), "fetch.host_key"),
    (('password_env = "TALLY_PAYPAL_SFTP_PASSWORD"\n', ""), "fetch.private_key_file"),
    (('password_env = "TALLY_PAYPAL_SFTP_PASSWORD"', 'password = "hunter2"'), "fetch.password"),
    (('STL-{yyyymmdd}.*.CSV', 'STL-*.CSV'), "fetch.pattern"),
    (('STL-{yyyymmdd}.*.CSV', 'STL-{yyyymm}.CSV'), "fetch.pattern"),
    (('lookback_days = 3', 'lookback_days = 0'), "fetch.lookback_days"),
    (('lookback_days = 3', 'lookback_days = "3"'), "fetch.lookback_days"),
    (('deadline = "15:00"', 'deadline = "3pm"'), "fetch.deadline"),
])
def test_bad_sftp_declarations_name_the_field(change: tuple[str, str], field: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(PAYPAL.replace(*change))
    assert raised.value.where.field == f"sources.paypal.{field}"


def test_ftps_and_inbox_sources() -> None:
    sources = parse("""
[sources.bank]
kind = "stripe"
[sources.bank.fetch]
transport = "ftps"
host = "ftp.bank.example"
username = "acme"
password_file = "/etc/tally/bank_ftp_password"
remote_dir = "/out"
pattern = "MT940_{yyyymmdd}.sta"
ca_file = "/etc/tally/bank_ca.pem"

[sources.drop]
kind = "paypal"
[sources.drop.fetch]
transport = "inbox"
path = "/srv/tally/inbox/bank"
pattern = "*.xml"
""").sources
    assert sources["bank"]["fetch"]["transport"] == "ftps"
    assert sources["drop"]["fetch"]["path"] == "/srv/tally/inbox/bank"


def test_ca_file_is_an_ftps_setting_only() -> None:
    with pytest.raises(ConfigError) as raised:
        parse("""
[sources.bank]
kind = "stripe"
[sources.bank.fetch]
transport = "ftp"
host = "127.0.0.1"
username = "acme"
password_env = "X"
remote_dir = "/out"
pattern = "MT940_{yyyymmdd}.sta"
ca_file = "/etc/tally/bank_ca.pem"
""")
    assert raised.value.where.field == "sources.bank.fetch.ca_file"
