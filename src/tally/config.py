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
from tally.records import COLUMNS, RECORD_KINDS
from tally.transports.client import check_base_url
from tally.transports.pattern import compile_pattern

NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAPPED_KINDS = ("table", "sql")
SOURCE_FIELDS = {
    "kind", "timezone", "format", "encoding", "delimiter", "amount_unit", "currency", "sign", "columns",
    "values", "time_format", "date_format", "record_kind", "category", "url", "url_env", "query", "fetch",
    "description", "sheet", "widths", "width_unit", "records_path", "skip_lines", "thousands",
}
TABLE_FORMATS = ("csv", "txt", "xlsx", "xls", "json", "jsonl")
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


# Keys every fetch table may have: the worker's schedule (HH:MM in the source's timezone; how
# many business days back it looks for bills not yet acquired).
FETCH_COMMON = frozenset({"transport", "ready_time", "deadline", "lookback_days"})
FETCH_KEYS: dict[str, FetchKeys] = {
    "wechatpay_v3": _keys("mchid serial_no platform_public_key_file",
                          "platform_serial bill_type account_type tar_type sub_mchid timeout_s", "private_key",
                          urls="base_url"),
    "wechatpay_v2": _keys("appid mch_id", "sign_type bill_type tar_type timeout_s", "api_key", urls="base_url"),
    "alipay": _keys("app_id alipay_public_key_file", "bill_type timeout_s", "private_key", "app_auth_token",
                    urls="gateway_url"),
    "unionpay": _keys("mer_id root_cert_file middle_cert_file", "cert_id allow_test_certs timeout_s", "private_key",
                      "private_key_password", urls="file_trans_url"),
    # File servers and folders (tally.transports.sftp, ftp, ftps, inbox).
    "sftp": _keys("host username host_key remote_dir pattern", "port done_dir timeout_s retries", "",
                  "password private_key passphrase"),
    "ftp": _keys("host username remote_dir pattern", "port done_dir timeout_s retries cleartext", "password"),
    "ftps": _keys("host username remote_dir pattern", "port done_dir timeout_s retries ca_file", "password"),
    "inbox": _keys("path", "pattern min_age_s"),
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
    _validate_files(name, table, fail)


def _validate_files(name: str, table: dict[str, Any], fail: Any) -> None:
    """What the file transports need beyond their keys: a day in server patterns, a way to log in."""
    lookback = table.get("lookback_days", 1)
    if not isinstance(lookback, int) or isinstance(lookback, bool) or not 1 <= lookback <= 90:
        raise fail("fetch.lookback_days", "a whole number of days from 1 (yesterday only) to 90")
    if "pattern" in table:
        try:
            pattern = compile_pattern(str(table["pattern"]), field="fetch.pattern")
        except ConfigError as exc:
            raise fail("fetch.pattern", exc.message, exc.hint) from None
        if name in ("sftp", "ftp", "ftps") and not pattern.has_day:
            raise fail("fetch.pattern", "a server's pattern names the business day with {yyyymmdd} or {yyyy-mm-dd}",
                       "e.g. \"STL-{yyyymmdd}.*.CSV\"")
    if name == "sftp" and not any(table.get(f"{s}_{how}") for s in ("password", "private_key")
                                  for how in ("env", "file")):
        raise fail("fetch.private_key_file", "sftp logs in with private_key_file (or _env) or password_env "
                   "(or _file)")


def _validate_mapping(spec: dict[str, Any], fail: Any) -> None:
    """The mapping of a ``table`` or ``sql`` source (docs/channels/table.md)."""
    columns = spec.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise fail("columns", "map normalized columns to the file's headers, e.g. order_no = \"商户订单号\"")
    bad = [c for c in columns if c not in (*MAPPABLE, "direction")]
    if bad:
        raise fail(f"columns.{bad[0]}", "not a normalized column", f"use some of: {', '.join(MAPPABLE)}")
    fmt = spec.get("format", "csv")
    if fmt not in TABLE_FORMATS:
        raise fail("format", f"format {fmt!r} is not supported", f"use one of {', '.join(TABLE_FORMATS)}")
    _validate_columns(spec, columns, fmt, fail)
    if "amount_minor" not in columns and "quantity" not in columns:
        raise fail("columns", "map amount_minor (or quantity for a non-money source)")
    if "occurred_at" not in columns and "business_day" not in columns:
        raise fail("columns", "map occurred_at or business_day")
    _validate_values(spec, columns, fail)
    for key, allowed in (("amount_unit", ("major", "minor")), ("sign", ("by_kind", "as_is", "direction")),
                         ("width_unit", ("chars", "bytes"))):
        if key in spec and spec[key] not in allowed:
            raise fail(key, f"must be one of {', '.join(allowed)}")
    if spec.get("sign") == "direction" and "direction" not in columns:
        raise fail("sign", "sign = \"direction\" needs a `direction` column (values mapped to in/out)")
    if spec.get("record_kind", "payment") not in RECORD_KINDS:
        raise fail("record_kind", f"the default record kind must be one of {', '.join(RECORD_KINDS)}")
    encoding = str(spec.get("encoding", "utf-8"))
    try:
        if encoding.lower() != "auto":
            codecs.lookup(encoding)
    except LookupError:
        raise fail("encoding", f"unknown encoding {encoding!r}", "e.g. utf-8, gb18030 or auto") from None
    for key in ("delimiter", "thousands"):
        if key in spec and not (isinstance(spec[key], str) and len(spec[key]) == 1):
            raise fail(key, "must be one character, e.g. \",\" or \"\\t\"")
    sheet = spec.get("sheet")
    if sheet is not None and (fmt not in ("xlsx", "xls") or not isinstance(sheet, str | int) or
                              isinstance(sheet, bool) or (isinstance(sheet, int) and sheet < 0)):
        raise fail("sheet", "a sheet name, or its index from 0, for xlsx and xls files")
    path = spec.get("records_path")
    if path is not None and (fmt != "json" or not isinstance(path, str) or not all(path.split("."))):
        raise fail("records_path", "a dotted path to the array of records (e.g. \"data.items\"), for json files")
    for key in ("skip_lines",):
        if key in spec and not (isinstance(spec[key], int) and not isinstance(spec[key], bool) and spec[key] >= 0):
            raise fail(key, "must be a whole number ≥ 0")
    for key in ("time_format", "date_format"):
        if key in spec and not (isinstance(spec[key], str) and spec[key]):
            raise fail(key, "a strptime format such as \"%Y/%m/%d %H:%M\"")
    currency = spec.get("currency")
    if currency is not None and not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
        raise fail("currency", f"{currency!r} is not an ISO 4217 code", "e.g. \"CNY\"")
    if "amount_minor" in columns and "currency" not in columns and not currency:
        raise fail("currency", "no currency column is mapped, so set `currency` (e.g. \"CNY\")")


def _validate_columns(spec: dict[str, Any], columns: dict[str, Any], fmt: str, fail: Any) -> None:
    """Headers (text), or fixed-width positions ``[start, end]`` (1-based, inclusive) for txt."""
    positional = [c for c, v in columns.items() if isinstance(v, list)]
    if positional:
        if fmt != "txt" or len(positional) != len(columns) or "widths" in spec:
            raise fail(f"columns.{positional[0]}", "positions [start, end] are for txt files, for every column, "
                       "without `widths`")
        for name in positional:
            pos = columns[name]
            if not (len(pos) == 2 and all(isinstance(p, int) and not isinstance(p, bool) for p in pos)
                    and 1 <= pos[0] <= pos[1]):
                raise fail(f"columns.{name}", "a position is [start, end]: 1-based, inclusive, start ≤ end")
    elif not all(isinstance(v, str) and v for v in columns.values()):
        raise fail("columns", "each mapped column names a header (text)")
    widths = spec.get("widths")
    if widths is not None and (fmt != "txt" or not isinstance(widths, list) or not widths or not all(
            isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths)):
        raise fail("widths", "a list of positive field widths, for fixed-width txt files")


def _validate_values(spec: dict[str, Any], columns: dict[str, Any], fail: Any) -> None:
    values = spec.get("values", {})
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise fail("values", "value maps are tables like [sources.X.values.record_kind]")
    allowed = {"record_kind": RECORD_KINDS, "direction": ("in", "out")}
    for column, table in values.items():
        if column not in columns:
            raise fail(f"values.{column}", "a value map for a column that is not mapped")
        for raw, value in table.items():
            if not isinstance(value, str):
                raise fail(f"values.{column}", f"{raw!r} must map to text")
            if column in allowed and value not in allowed[column]:
                raise fail(f"values.{column}", f"{raw!r} maps to {value!r}, not one of {', '.join(allowed[column])}")
