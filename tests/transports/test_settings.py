"""`[sources.X.fetch]` tables of the channel API transports, checked by `tally apply` before anything is saved."""

from __future__ import annotations

import pytest

from tally.config import parse
from tally.errors import ConfigError

WECHAT = """
[sources.wechat]
kind = "{kind}"
[sources.wechat.fetch]
transport = "wechatpay_v3"
mchid = "1900000001"
serial_no = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
private_key_file = "/etc/tally/wechat_apiclient_key.pem"
platform_public_key_file = "/etc/tally/wechat_platform_pub.pem"
{more}
"""


def check(more: str = "", kind: str = "wechatpay") -> None:
    parse(WECHAT.format(kind=kind, more=more))


def test_the_contract_example_is_accepted() -> None:
    check('base_url = "https://api.mch.weixin.qq.com"\nplatform_serial = "PUB_KEY_ID_0000"\nbill_type = "ALL"\n'
          'ready_time = "10:00"\ndeadline = "14:00"')
    check('account_type = "BASIC"', kind="wechatpay_fund")
    check('base_url = "http://127.0.0.1:8080"\ntimeout_s = 5')


@pytest.mark.parametrize(("more", "field", "says"), [
    ('private_key = "-----BEGIN PRIVATE KEY-----"', "fetch.private_key", "secrets are never written"),
    ('password = "x"', "fetch.password", "not a setting of the wechatpay_v3 transport"),
    ('base_url = "http://api.mch.weixin.qq.com"', "fetch.base_url", "plain http to api.mch.weixin.qq.com"),
    ('base_url = "ftp://127.0.0.1"', "fetch.base_url", "is not an http(s) URL"),
    ('ready_time = "10am"', "fetch.ready_time", "HH:MM"),
])
def test_bad_settings_name_the_field(more: str, field: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        check(more)
    assert err.value.where.field == f"sources.wechat.{field}"
    assert says in err.value.message


def test_required_settings_and_secrets() -> None:
    with pytest.raises(ConfigError) as err:
        parse('[sources.a]\nkind = "alipay"\n[sources.a.fetch]\ntransport = "alipay"\napp_id = "1"\n'
              'alipay_public_key_file = "/k.pem"\n')
    assert "needs private_key_file or private_key_env" in err.value.message
    with pytest.raises(ConfigError) as err:
        parse('[sources.u]\nkind = "unionpay"\n[sources.u.fetch]\ntransport = "unionpay"\nmer_id = "1"\n'
              'private_key_file = "/k.pem"\n')
    assert "needs `middle_cert_file`" in err.value.message
    with pytest.raises(ConfigError) as err:
        parse('[sources.w]\nkind = "wechatpay"\n[sources.w.fetch]\ntransport = "carrier_pigeon"\n')
    assert err.value.where.field == "sources.w.fetch.transport"
    parse('[sources.w]\nkind = "wechatpay"\n[sources.w.fetch]\ntransport = "wechatpay_v2"\nappid = "wx1"\n'
          'mch_id = "1"\napi_key_env = "TALLY_WECHAT_API_KEY"\nsign_type = "HMAC-SHA256"\n')
