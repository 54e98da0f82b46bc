"""A fake Alipay OpenAPI gateway for ``alipay.data.dataservice.bill.downloadurl.query`` and its download.

It checks the request's RSA2 signature with the merchant's public key over the sorted
``key=value&…`` of every parameter but ``sign``, and signs its answer node with the Alipay key
over the node's exact text, writing ``/`` as ``\\/`` the way Alipay's JSON does.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import date, datetime
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.transports.fakes.server import Answer, FakeServer, Request

MODES = ("ok", "no_bill", "bad_signature", "unsigned", "unsigned_no_bill", "auth", "server_error", "slow",
         "slow_download", "expired")
NODE = "alipay_data_dataservice_bill_downloadurl_query_response"
DETAIL_HEADER = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
                 "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
                 "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")


def alipay_zip(day: date, payments: list[tuple[str, str, datetime]]) -> bytes:
    """A trade-detail bill zip (FORMATS.md §2.3): payments as (order_no, yuan, completed at)."""
    lines = ["#支付宝业务明细查询", "#账号：[20880211096256330156]",
             f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{day:%Y年%m月%d日} 23:59:59]",
             "#-----------------------------------------业务明细列表----------------------------------------",
             DETAIL_HEADER]
    total = 0
    for n, (order_no, yuan, at) in enumerate(payments):
        lines.append(f"2026110122001458860515{n:06d}\t,{order_no}\t,交易\t,测试商品,{at:%Y-%m-%d %H:%M:%S},"
                     f"{at:%Y-%m-%d %H:%M:%S},,,,\t,*买(b***@example.com)\t,{yuan},{yuan},0.00,0.00,0.00,0.00,0.00,,"
                     f"0.00\t,0.00,\t,0.00,0.00,")
        total += int(yuan.replace(".", ""))
    lines += ["#-----------------------------------------业务明细列表结束------------------------------------",
              f"#交易合计：{len(payments)}笔，商家实收共{total / 100:.2f}元，商家优惠共0.00元",
              "#退款合计：0笔，商家实收退款共0.00元，商家优惠退款共0.00元",
              f"#导出时间：[{day:%Y年%m月%d日} 05:46:49]"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(f"20880211096256330156_{day:%Y%m%d}_detail.csv",
                                         date_time=(2026, 11, 2, 5, 46, 49)),
                         ("\r\n".join(lines) + "\r\n").encode("gb18030"))
    return buf.getvalue()


class FakeAlipay(FakeServer):
    def __init__(self, *, app_id: str, merchant_key: rsa.RSAPublicKey, alipay_key: rsa.RSAPrivateKey,
                 bills: dict[date, bytes]) -> None:
        super().__init__()
        self.app_id = app_id
        self.merchant_key = merchant_key
        self.alipay_key = alipay_key
        self.bills = bills
        self.chunk_delay_s = 0.05
        self.slow_s = 3.0
        self.seen_params: list[dict[str, str]] = []

    def answer(self, request: Request) -> Answer:
        if request.route == "/downloadBillFile.resource":
            return self._download(request)
        if self.mode == "server_error":
            return Answer(502, b"<html>bad gateway</html>")
        params = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        self.seen_params.append(params)
        if not self._signed_by_merchant(params) or params.get("app_id") != self.app_id or self.mode == "auth":
            return self._node({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature",
                               "sub_msg": "验签出错"}, node="error_response")
        biz = json.loads(params["biz_content"])
        day = date.fromisoformat(biz["bill_date"])
        if self.mode in ("no_bill", "unsigned_no_bill") or day not in self.bills:
            return self._node({"code": "40004", "msg": "Business Failed", "sub_code": "isp.bill_not_exist",
                               "sub_msg": "账单不存在"})
        url = (f"{self.url}/downloadBillFile.resource?bizType=trade&userId=20880211096256330156&fileType=csv.zip"
               f"&bizDates={day:%Y%m%d}&downloadFileName=20880211096256330156_{day:%Y%m%d}.csv.zip"
               f"&fileId=%2Ftrade%2F{day:%Y%m%d}.csv.zip&timestamp=1&token=t0k3n")
        answer = self._node({"code": "10000", "msg": "Success", "bill_download_url": url})
        answer.delay_s = self.slow_s if self.mode == "slow" else 0.0
        return answer

    def _signed_by_merchant(self, params: dict[str, str]) -> bool:
        content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if v and k != "sign")
        try:
            self.merchant_key.verify(base64.b64decode(params.get("sign", "")), content.encode(), padding.PKCS1v15(),
                                     hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    def _node(self, payload: dict[str, str], node: str = NODE) -> Answer:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")
        signature = self.alipay_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
        if self.mode == "bad_signature":
            signature = self.alipay_key.sign(b"something else", padding.PKCS1v15(), hashes.SHA256())
        if self.mode in ("unsigned", "unsigned_no_bill"):
            body = f'{{"{node}":{text}}}'
        else:
            body = f'{{"{node}":{text},"sign":"{base64.b64encode(signature).decode()}"}}'
        return Answer(200, body.encode(), {"Content-Type": "text/html;charset=utf-8"})

    def _download(self, request: Request) -> Answer:
        if self.mode == "expired":
            return Answer(200, "下载超时,请重新下载".encode(), {"Content-Type": "text/html;charset=utf-8"})
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        ymd = query["bizDates"]
        bill = self.bills[date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:]))]
        return Answer(200, bill, {"Content-Type": "application/oct-stream"},
                      chunk_delay_s=self.chunk_delay_s if self.mode == "slow_download" else 0.0)
