"""Declarations of sources and plans (TOML, CONTRACT.md), read and validated before anything is saved."""

from __future__ import annotations

import codecs
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tally import channels, transports
from tally.engine.plan import Plan
from tally.errors import ConfigError
from tally.records import COLUMNS
from tally.transports.client import check_base_url

NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAPPED_KINDS = ("table", "sql")
SOURCE_FIELDS = {
    "kind", "timezone", "format", "encoding", "delimiter", "amount_unit", "currency", "sign", "columns",
    "values", "time_format", "date_format", "record_kind", "category", "url", "url_env", "query", "fetch",
    "description",
}
MAPPABLE = tuple(c for c in COLUMNS if c not in ("source", "bill_sha256", "line_no"))


@dataclass(frozen=True)
class FetchKeys:
    """The settings of one transport's ``[sources.X.fetch]`` table (docs/channels/fetching.md).

    ``secrets`` are required secrets, each named by ``NAME_env`` (an environment variable) or
    ``NAME_file`` (a file), never written inline; ``optional_secrets`` may be named the same way.
    ``urls`` are optional keys holding a base URL (https, or http for loopback hosts only).
    """

    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    secrets: frozenset[str] = frozenset()
    optional_secrets: frozenset[str] = frozenset()
    urls: frozenset[str] = frozenset()


def _keys(required: str = "", optional: str = "", secrets: str = "", optional_secrets: str = "",
          urls: str = "") -> FetchKeys:
    return FetchKeys(*(frozenset(text.split()) for text in (required, optional, secrets, optional_secrets, urls)))


# Keys every fetch table may have: the worker's schedule (HH:MM in the source's timezone).
FETCH_COMMON = frozenset({"transport", "ready_time", "deadline"})
FETCH_KEYS: dict[str, FetchKeys] = {
    "wechatpay_v3": _keys("mchid serial_no platform_public_key_file",
                          "platform_serial bill_type account_type tar_type sub_mchid timeout_s", "private_key",
                          urls="base_url"),
    "wechatpay_v2": _keys("appid mch_id", "sign_type bill_type tar_type timeout_s", "api_key", urls="base_url"),
    "alipay": _keys("app_id alipay_public_key_file", "bill_type timeout_s", "private_key", "app_auth_token",
                    urls="gateway_url"),
    "unionpay": _keys("mer_id root_cert_file middle_cert_file", "cert_id allow_test_certs timeout_s", "private_key",
                      "private_key_password", urls="file_trans_url"),
}
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True)
class Declarations:
    sources: dict[str, dict[str, Any]]
    plans: dict[str, dict[str, Any]]


def load(path: Path) -> Declarations:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("FILE_NOT_FOUND", f"cannot read {path}: {exc.strerror}", file=file) from None
    except UnicodeDecodeError:
        raise ConfigError("BAD_ENCODING", "the TOML file is not UTF-8", file=file) from None
    return parse(text, file=file)


def parse(text: str, *, file: str | None = None) -> Declarations:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise ConfigError("BAD_TOML", f"not valid TOML: {str(exc).split(' (at')[0]}", file=file,
                          line=int(found.group(1)) if found else None) from None
    unknown = sorted(set(data) - {"sources", "plans"})
    if unknown:
        raise ConfigError("UNKNOWN_FIELD", f"unknown top-level table(s) {', '.join(unknown)}", file=file,
                          field=unknown[0], hint="declare [sources.NAME] and [plans.NAME] tables")
    sources = {name: validate_source(name, spec, file=file) for name, spec in _tables(data, "sources", file)}
    plans = {}
    for name, spec in _tables(data, "plans", file):
        _check_name(name, "plans", file)
        Plan.from_spec(name, spec, file=file)
        plans[name] = spec
    return Declarations(sources, plans)


def _tables(data: dict[str, Any], key: str, file: str | None) -> list[tuple[str, dict[str, Any]]]:
    value = data.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError("BAD_CONFIG", f"`{key}` must hold tables like [{key}.NAME]", file=file, field=key)
    return list(value.items())


def _check_name(name: str, group: str, file: str | None) -> None:
    if not NAME.fullmatch(name):
        raise ConfigError("BAD_NAME", f"{group}.{name}: names are lower-case letters, digits and _",
                          file=file, field=f"{group}.{name}")


def validate_source(name: str, spec: dict[str, Any], *, file: str | None = None) -> dict[str, Any]:
    """The declaration itself when it is usable; ConfigError naming the field otherwise."""
    _check_name(name, "sources", file)
    where = f"sources.{name}"

    def fail(field: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError("BAD_SOURCE", f"{where}.{field}: {message}", file=file, field=f"{where}.{field}",
                           hint=hint)

    unknown = sorted(set(spec) - SOURCE_FIELDS)
    if unknown:
        raise ConfigError("UNKNOWN_FIELD", f"{where} has unknown field(s) {', '.join(unknown)}", file=file,
                          field=f"{where}.{unknown[0]}")
    kind = spec.get("kind")
    if kind not in channels.kinds():
        raise ConfigError("UNKNOWN_KIND", f"{where}.kind {kind!r} is not a source kind", file=file,
                          field=f"{where}.kind", hint=f"use one of: {', '.join(channels.kinds())}")
    try:
        ZoneInfo(str(spec.get("timezone", "Asia/Shanghai")))
    except (ZoneInfoNotFoundError, ValueError):
        raise fail("timezone", f"unknown time zone {spec.get('timezone')!r}", "e.g. Asia/Shanghai") from None
    if kind in MAPPED_KINDS:
        _validate_mapping(spec, fail)
    if "fetch" in spec:
        if kind == "sql":
            raise fail("fetch", "a sql source is fetched by its query; it has no fetch table")
        validate_fetch(spec["fetch"], fail)
    if kind == "sql":
        if not (spec.get("url") or spec.get("url_env")):
            raise fail("url", "a sql source needs `url` or `url_env` (the name of an environment variable)")
        if not isinstance(spec.get("query"), str):
            raise fail("query", "a sql source needs a `query` (it may use :day, :day_start, :day_end)")
    return spec


def validate_fetch(table: Any, fail: Any) -> None:
    """A ``[sources.X.fetch]`` table: a known transport, its required settings, no unknown or inline secret."""
    if not isinstance(table, dict):
        raise fail("fetch", "must be a table like [sources.NAME.fetch]")
    name = table.get("transport")
    if name not in transports.names() or name not in FETCH_KEYS:
        raise fail("fetch.transport", f"{name!r} is not a transport",
                   f"use one of: {', '.join(sorted(set(transports.names()) & set(FETCH_KEYS)))}")
    keys = FETCH_KEYS[name]
    named = {f"{secret}_{how}" for secret in keys.secrets | keys.optional_secrets for how in ("env", "file")}
    allowed = FETCH_COMMON | keys.required | keys.optional | keys.urls | named
    for key in table:
        if key in keys.secrets | keys.optional_secrets:
            raise fail(f"fetch.{key}", "secrets are never written in a declaration",
                       f"name where it is: {key}_env = \"ENV_VARIABLE\" or {key}_file = \"/path\"")
        if key not in allowed:
            raise fail(f"fetch.{key}", f"not a setting of the {name} transport",
                       f"use some of: {', '.join(sorted(allowed - {'transport'}))}")
    for key in sorted(keys.required):
        if table.get(key) in (None, ""):
            raise fail(f"fetch.{key}", f"the {name} transport needs `{key}`")
    for secret in sorted(keys.secrets):
        if not (table.get(f"{secret}_env") or table.get(f"{secret}_file")):
            raise fail(f"fetch.{secret}_file", f"the {name} transport needs {secret}_file or {secret}_env")
    for key in sorted(keys.urls & set(table)):
        try:
            check_base_url(str(table[key]))
        except ConfigError as exc:
            raise fail(f"fetch.{key}", exc.message, exc.hint) from None
    for key in ("ready_time", "deadline"):
        if key in table and not (isinstance(table[key], str) and _HHMM.fullmatch(table[key])):
            raise fail(f"fetch.{key}", "a time of day HH:MM in the source's timezone, e.g. \"10:00\"")


def _validate_mapping(spec: dict[str, Any], fail: Any) -> None:
    columns = spec.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise fail("columns", "map normalized columns to the file's headers, e.g. order_no = \"商户订单号\"")
    bad = [c for c in columns if c not in MAPPABLE]
    if bad:
        raise fail(f"columns.{bad[0]}", "not a normalized column", f"use some of: {', '.join(MAPPABLE)}")
    if not all(isinstance(v, str) and v for v in columns.values()):
        raise fail("columns", "each mapped column names a header (text)")
    if "amount_minor" not in columns and "quantity" not in columns:
        raise fail("columns", "map amount_minor (or quantity for a non-money source)")
    if "occurred_at" not in columns and "business_day" not in columns:
        raise fail("columns", "map occurred_at or business_day")
    values = spec.get("values", {})
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise fail("values", "value maps are tables like [sources.X.values.record_kind]")
    for column in values:
        if column not in columns:
            raise fail(f"values.{column}", "a value map for a column that is not mapped")
    if spec.get("amount_unit", "major") not in ("major", "minor"):
        raise fail("amount_unit", "must be \"major\" (12.34) or \"minor\" (1234)")
    if spec.get("sign", "by_kind") not in ("by_kind", "as_is"):
        raise fail("sign", "must be \"by_kind\" or \"as_is\"")
    if spec.get("format", "csv") not in ("csv", "txt", "jsonl"):
        raise fail("format", f"format {spec.get('format')!r} is not supported", "use csv, txt or jsonl")
    try:
        codecs.lookup(str(spec.get("encoding", "utf-8")))
    except LookupError:
        raise fail("encoding", f"unknown encoding {spec.get('encoding')!r}", "e.g. utf-8 or gb18030") from None
    if "currency" not in columns and not spec.get("currency"):
        raise fail("currency", "no currency column is mapped, so set `currency` (e.g. \"CNY\")")
