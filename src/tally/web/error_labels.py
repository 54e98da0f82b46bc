"""What each error code means to the person who meets it, in their language: the one catalog.

Parsers, transports and services raise errors with a stable code and an English message that
carries the specifics (values, columns, totals) and, where one applies, the file:line place. A
page shows the translated sentence for the code — what is wrong and what to do — with the English
message and place beneath it as detail, and the code; a code the catalog lacks reads
``CODE: message`` as before. Stored rejections (an upload's files, a rejected bill) keep their
code and English message, and are translated here when shown, in the reader's language.

tests/web/test_error_labels.py scans src/tally for the codes raised, so a new code without a
sentence here fails the tests. The CLI and the JSON API keep English (CONTRACT.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tally.errors import TallyError

ERRORS: dict[str, Promise] = {
    # The file as a whole: its size, its packing (gzip, zip, Base64) and what kind of file it is.
    "EMPTY_FILE": _("The file is empty or has no rows. Check that the right file was exported, then upload it again."),
    "FILE_TOO_LARGE": _("The file is larger than the size limit. Split it, or ask an administrator about the limit."),
    "FILE_NOT_FOUND": _("The file cannot be read. Check its path and that Tally may read it."),
    "CORRUPT_GZIP": _("The compressed (.gz) file is damaged. Download it from the channel again."),
    "CORRUPT_ZIP": _("The zip file is damaged. Download it from the channel again."),
    "CORRUPT_PACKAGE": _("The packed bill (compressed or Base64 data) is damaged. Download it from the channel again."),
    "ARCHIVE_TOO_LARGE": _("The compressed bill unpacks to more than Tally accepts. Check that it is the channel's "
                           "bill."),
    "ZIP_BOMB": _("The zip holds too many files, or unpacks to far more than its size, and was refused unread. Check "
                  "that it is the channel's own file."),
    "ZIP_ENCRYPTED": _("A file in the zip is encrypted. Download the bill without a password and upload it again."),
    "ZIP_SLIP": _("A file in the zip points outside the archive, so the zip was refused. Download it from the channel "
                  "again."),
    "ZIP_SYMLINK": _("A file in the zip is a symbolic link, so the zip was refused. Download it from the channel "
                     "again."),
    "MISSING_MEMBER": _("The zip does not hold the detail file the channel's bill must have. Download the complete "
                        "bill again."),
    "EXTRA_MEMBER": _("The zip holds more than one detail or summary file. Put one day's bill in each zip."),
    "UNSUPPORTED_MEMBER": _("The zip holds a part Tally cannot read yet. Ask your Tally administrator."),
    "WRONG_KIND": _("This is a different kind of file than the source expects (e.g. a summary or an account statement "
                    "instead of the trade detail). Upload the right bill, or choose the right source."),
    "CHANNEL_ERROR": _("The channel sent an error instead of a bill. Read the detail, clear the cause with the "
                       "channel, and try again."),
    # Text, tables and XML: encodings, headers, columns, cells.
    "BAD_ENCODING": _("The file's text encoding cannot be read (e.g. it is not the UTF-8 or GBK expected). Export it "
                      "again as text, or set the source's encoding."),
    "BAD_CSV": _("A row is not valid CSV (e.g. a quote that is never closed). Export the file again and upload it "
                 "unedited."),
    "BAD_JSON": _("The file is not the JSON the source expects. Check the file, or the source's records path."),
    "BAD_XML": _("The file is not well-formed XML (or OFX). Download the statement from the bank again."),
    "XML_ENTITIES": _("The XML declares a DTD or entities, which statements never need, so it was refused unread. "
                      "Download the statement from the bank again."),
    "XML_TOO_LARGE": _("The XML is too large or too deeply nested to be a statement. Check that it is the right file."),
    "BAD_SPREADSHEET": _("The Excel workbook cannot be read. Open it in Excel, save it as .xlsx and upload it again."),
    "MISSING_SHEET": _("The workbook has no sheet of the name the source reads. Choose the right sheet in the "
                       "source's settings."),
    "UNSUPPORTED_FORMAT": _("A table source reads CSV, TXT, Excel or JSON; this format is not one of them."),
    "MISSING_COLUMN": _("A column (or field) the file must have is missing. Check that the file is complete and "
                        "exported in the right format, or change the source's column mapping."),
    "DUPLICATE_COLUMN": _("The header names the same column twice. Rename one in the export, or map the columns "
                          "again."),
    "COLUMN_COUNT": _("A row has a different number of cells than the header (often a comma inside a value). Export "
                      "the file again and upload it unedited."),
    "TRAILING_DATA": _("There is more data after the end of the bill (after its totals or trailer). Export the file "
                       "again, or remove what follows the end."),
    # Rows and their values.
    "BAD_AMOUNT": _("An amount is missing or is not a number like 12.34; correct it and try again."),
    "AMOUNT_PRECISION": _("An amount has more decimals than its currency allows (JPY has none, for example); check the "
                          "amount and the currency."),
    "BAD_CURRENCY": _("A currency is not a three-letter ISO 4217 code, or differs from the rest of the statement. "
                      "Check the currency column or the source's currency setting."),
    "MISSING_CURRENCY": _("A row has no currency and the source sets none. Map a currency column, or set the source's "
                          "currency (e.g. CNY)."),
    "BAD_DATE": _("A date or time is missing or not in the expected format. Check the row shown, or the source's date "
                  "and time formats."),
    "MISSING_VALUE": _("A row has neither a business day nor a time. Map a time or business-day column, or fix the "
                       "row."),
    "BAD_NUMBER": _("A value that must be a whole number (such as a quantity) is not one. Correct the row shown."),
    "BAD_VALUE": _("A value is not one the bill's format or the source's mapping allows (an unknown type, mark or "
                   "record kind). Check the line shown, or add the value to the source's mapping."),
    # The bill's own control totals, and the day it is for.
    "TOTALS_MISMATCH": _("The bill's own totals (count or amount) do not equal the sum of its rows, so the whole bill "
                         "was refused. Get the complete bill from the channel again."),
    "MISSING_TOTALS": _("The bill has no totals (its summary, trailer or balance lines are missing), so it cannot be "
                        "checked. The file is probably cut short: get the complete bill again."),
    "NEEDS_DAY": _("The bill has no records and no date in its name, so its business day is unknown. Give the business "
                   "day when you upload it."),
    "MISSING_SETTLE_DATE": _("The settlement date is unknown (no dated file name and no summary file). Upload the zip "
                             "as UnionPay sent it, or keep the date in the file name."),
    # Declarations of sources and plans, and the server's engine settings.
    "BAD_TOML": _("The declaration is not valid TOML. Fix the syntax at the line shown."),
    "BAD_CONFIG": _("The declaration's tables are not as expected (e.g. it must declare exactly this plan). Check it "
                    "against the documentation's example."),
    "BAD_NAME": _("A name may hold only lower-case letters, digits and _. Rename it."),
    "UNKNOWN_FIELD": _("The declaration has a setting Tally does not know (a typo?). Remove or correct it."),
    "UNKNOWN_KIND": _("The source's kind is not one Tally knows. Choose one of the listed kinds."),
    "BAD_SOURCE": _("A setting of the source is missing or not valid. Correct the setting shown."),
    "BAD_PLAN": _("A setting of the plan is not valid. Correct the setting shown."),
    "UNKNOWN_RULE": _("The plan names a rule Tally does not have. Check the rule's name."),
    "UNKNOWN_SOURCE": _("There is no source of that name. Check the name, or declare the source first."),
    "UNKNOWN_PLAN": _("There is no such plan, or you may not see it."),
    "SOURCE_EXISTS": _("A source of that name already exists. Choose another name, or change the existing source."),
    "UNKNOWN_VERSION": _("That version does not belong to this source. Choose one of its versions."),
    "UNKNOWN_SAMPLE": _("This sample file is gone (saved, older than a day, or uploaded by someone else). Upload it "
                        "again."),
    "BAD_ARGUMENTS": _("What was asked is not valid (see the detail); correct it and try again."),
    "UNKNOWN_ENGINE": _("TALLY_ENGINE names no engine Tally has. An administrator must set duckdb or spark."),
    "ENGINE_NOT_INSTALLED": _("The engine TALLY_ENGINE names is not installed on this server. Ask an administrator."),
    "BAD_ENGINE_MEMORY": _("TALLY_ENGINE_MEMORY is not a size such as 4GB. An administrator must correct it."),
    # Fetching from a channel: settings, secrets, the connection and the channel's answer.
    "NO_FETCH": _("This source has no fetch settings, so Tally does not fetch its bills. Upload them, or declare how "
                  "to fetch them."),
    "UNKNOWN_TRANSPORT": _("The source's fetch transport is not one Tally has. Correct the source's fetch settings."),
    "NOT_AN_INBOX": _("This source is not fetched from an inbox folder. Use Retry or Upload instead."),
    "INBOX_NOT_FOUND": _("The source's inbox folder does not exist. Create it, or correct the folder in the source's "
                         "fetch settings."),
    "MISSING_SECRET": _("A secret the fetch needs (a key, password or token) is not set on the server. Ask an "
                        "administrator to set it."),
    "BAD_SECRET": _("A key the fetch needs cannot be used (wrong format or password). Ask an administrator to check "
                    "it."),
    "BAD_PRIVATE_KEY": _("The SFTP private key cannot be loaded. Ask an administrator to check it."),
    "BAD_HOST_KEY": _("The host key in the source's settings is not a valid key or fingerprint. Correct it."),
    "HOST_KEY_MISMATCH": _("The server's identity does not match the host key in the source's settings; nothing was "
                           "downloaded. Check with the channel before changing it."),
    "CERT_INVALID": _("The server's certificate does not verify; nothing was downloaded. Check the server address, or "
                      "ask the channel."),
    "BAD_URL": _("The address in the source's settings is not an http(s) URL. Correct it."),
    "INSECURE_URL": _("Plain http is refused: bills and credentials would cross the network unencrypted. Use an https "
                      "address."),
    "CLEARTEXT_FTP": _("Plain FTP would send the password unencrypted. Use FTPS or SFTP."),
    "BAD_PATTERN": _("The file name pattern in the source's settings is not valid (e.g. it does not name the day). "
                     "Correct it."),
    "AUTH_FAILED": _("The channel refused Tally's credentials. Check the merchant number, key and certificate in the "
                     "source's settings."),
    "SIGN_ERROR": _("The channel says the request's signature is wrong. Check the merchant number and the signing key "
                    "or certificate in the source's settings."),
    # WeChat Pay's own codes, passed on as they come (tally.transports.wechatpay_v3).
    "INVALID_REQUEST_SIGNATURE": _("The channel says the request's signature is wrong. Check the merchant number, "
                                   "certificate serial number and private key."),
    "NO_AUTH": _("The channel says this merchant may not download bills. Ask the channel to enable the bill API."),
    "FREQUENCY_LIMITED": _("The channel says too many requests were made. Try again later."),
    "BAD_SIGNATURE": _("The channel's answer is not signed as it must be, so it was refused and nothing was kept. "
                       "Check the channel's key or certificates in the source's settings; if they are right, tell the "
                       "channel."),
    "HASH_MISMATCH": _("The downloaded bill does not match the checksum the channel gave: it was damaged or altered on "
                       "the way, and nothing was kept. Fetch it again."),
    "BAD_ANSWER": _("The channel's answer cannot be read (empty, cut short or malformed). Try again later; if it "
                    "persists, tell the channel."),
    "BAD_GZIP": _("The downloaded bill is a damaged or cut-short gzip file. Fetch it again."),
    "TOO_LARGE": _("The channel sent more data than a bill may have; nothing was kept. Check with the channel."),
    "DOWNLOAD_FAILED": _("The bill's download link failed (it may have expired). Fetch it again."),
    "NETWORK": _("The channel's server could not be reached. Try again later; if it persists, check the network."),
    "RATE_LIMITED": _("The channel says too many requests were made. Try again later."),
    "SERVER_ERROR": _("The channel's server had an error. Try again later."),
    "SYSTEM_ERROR": _("The channel reports a system error. Try again later."),
    "BAD_REQUEST": _("The channel refused the request. Check the source's fetch settings; the detail has the "
                     "channel's answer."),
    "REMOTE_NOT_FOUND": _("The file or folder is not on the server. Check the source's folder and file name pattern."),
    "REMOTE_DENIED": _("The server refused access to the file or folder. Check the account's permissions with the "
                       "channel."),
    "FETCH_FAILED": _("Fetching the bill failed. Read the detail, then try again."),
    "SOURCE_QUERY_FAILED": _("The query of the source's database failed. Check that the database is up and the query "
                             "is right."),
    # Importing, and the bills and records kept.
    "BILL_CHANGED": _("The file changed while it was being imported; nothing was kept. Import it again once it is "
                      "complete."),
    "IMPORT_FAILED": _("The file could not be imported because of an error in Tally; nothing of it was kept. Tell your "
                       "Tally administrator."),
    "JOB_INTERRUPTED": _("The import stopped before this file was imported. Upload it again."),
    "ARCHIVE_MISSING": _("The archive has no bytes for this bill. Tell your Tally administrator (restore it from a "
                         "backup)."),
    "ARCHIVE_ALTERED": _("The archived bytes of this bill no longer match its SHA-256: they were altered. Tell your "
                         "Tally administrator."),
    "BILL_NOT_ARCHIVED": _("This bill was rejected, so its bytes were not kept."),
    "LAKE_MISSING": _("The records of this bill are missing from the lake. Tell your Tally administrator (import the "
                      "bill again)."),
    "UNKNOWN_BILL": _("There is no imported bill of that name. Check the name."),
    "REIMPORT_FAILED": _("The bill's records could not be replaced; the old ones stay. Tell your Tally administrator."),
    "BILL_MISSING": _("A source has no bill for a day of the run, so that day was not reconciled. Fetch or upload the "
                      "bill, then run again."),
    "LEASE_HELD": _("This is being worked on right now. Try again in a moment."),
    # Exchange rates.
    "BAD_RATE": _("A rate must be a positive number between two different currencies. Correct the row shown."),
    "DUPLICATE_RATE": _("The file gives the same day and currency pair twice with different rates. Keep one."),
    "NO_RATES": _("The rates file has a header but no rates. Add the rates and import it again."),
    # Browsing, reports and exports.
    "BAD_RANGE": _("The range ends before it starts. Swap the days."),
    "RANGE_TOO_LONG": _("The range has more days than allowed at once. Choose fewer days."),
    "BAD_CURSOR": _("This page link is out of date. Start again from the first page."),
    "BAD_SORT": _("The records cannot be sorted that way. Choose another order."),
    "TOO_MANY_ROWS": _("Too many records for one Excel sheet. Narrow the filter, or export CSV."),
    "EXPORT_NO_LONGER_VALID": _("The export's filters are no longer valid. Export again from the page."),
    "PLAN_GONE": _("The plan of this export was deleted."),
    "NUL_CHARACTER": _("The text sent contains a NUL character, which no text may hold. Remove it and send again."),
    # Breaks, actions and approvals.
    "SELF_APPROVAL": _("You proposed this action; another person must approve or reject it."),
    "FORBIDDEN": _("You do not have permission to do this."),
    "UNKNOWN_BREAK": _("There is no such break, or you may not see it."),
    "UNKNOWN_ACTION": _("There is no such action, or you may not see it."),
    "UNKNOWN_ATTACHMENT": _("There is no such attachment, or you may not see it."),
    "UNKNOWN_ACTION_KIND": _("That is not an action kind. Choose one from the list."),
    "BAD_STATE": _("The break's status does not allow this action now."),
    "NOT_PROPOSED": _("This action was already decided."),
    "REASON_REQUIRED": _("Give a reason."),
    "REASON_TOO_LONG": _("The reason is too long. Shorten it."),
    "DATE_REQUIRED": _("Give a review date."),
    "DATE_NOT_FUTURE": _("The review date must be after today."),
    "AMOUNT_REQUIRED": _("Give a non-zero amount."),
    "BAD_REASON_CODE": _("Choose a reason code."),
    "BAD_DETAILS": _("The action was given details it does not take."),
    "MATCH_SUMS_DIFFER": _("The two sides do not add up; give the reason that explains the difference."),
    "BAD_MATCH": _("A manual match pairs breaks of our side only with breaks of their side (1:1, N:1 or 1:N)."),
    "CURRENCY_DIFFERS": _("The breaks are in different currencies."),
    "PLANS_DIFFER": _("The breaks belong to different plans."),
    "NOT_LONG": _("补单 is for long breaks (a payment only the channel has)."),
    "NOT_MISMATCH": _("A status sync needs a break with both records."),
    "STATUS_REQUIRED": _("Give the status to write back."),
    "NO_MERCHANT_WEBHOOK": _("No merchant webhook is configured for this plan."),
    "NO_MERCHANT_WEBHOOK_SECRET": _("The merchant webhook has no signing secret (TALLY_MERCHANT_WEBHOOK_SECRET)."),
    "WEBHOOK_FAILED": _("The merchant's system did not accept the call; nothing was applied. Try again later."),
    "NOT_UNDOABLE": _("This action cannot be undone."),
    "NOT_A_MATCH": _("This action is not a manual match."),
    "USE_UNDO": _("Undo and unmatch name the action they reverse: use that action's Undo button."),
    "CHANGED_SINCE": _("The break changed since this action; it cannot be undone."),
    "RULE_REQUIRED": _("An automatic resolution must name its rule and version."),
    "BAD_ASSIGNEE": _("That person cannot work on breaks of this plan."),
    "BAD_AGE": _("That is not an age bucket. Choose one from the list."),
    "EMPTY_COMMENT": _("The comment is empty."),
    "EVIDENCE_TYPE": _("This file type is not accepted as evidence (PDF, images, xlsx, CSV, text)."),
    "EVIDENCE_TOO_LARGE": _("The file is too large."),
    "BAD_IDS": _("Break ids are numbers separated by commas."),
    "ONE_BREAK": _("This action takes one break at a time."),
    "TOO_MANY": _("Too many breaks for one bulk action; narrow the filter."),
    "NO_BREAKS": _("Select at least one break."),
    # Users.
    "UNKNOWN_USER": _("There is no active user of that name."),
    "UNKNOWN_ROLE": _("That is not a role. Choose one from the list."),
    "USER_EXISTS": _("A user of that name already exists. Choose another name."),
    "WEAK_PASSWORD": _("The password is too weak (see the detail). Choose a longer, less common one."),
}


@dataclass(frozen=True)
class Explained:
    """An error as a page shows it: the reader's ``sentence`` ("" for a code the catalog lacks),
    the English ``detail`` (message and place) and ``hint``, and the ``code``."""

    code: str
    sentence: str
    detail: str
    hint: str = ""


def explain(code: str, message: str, where: object = "", hint: str | None = None) -> Explained:
    """``where`` is the place (a tally.errors.Where, or text); a stored message may hold it already."""
    place = str(where or "")
    known = ERRORS.get(code)
    return Explained(code, str(known) if known is not None else "",
                     f"{message} ({place})" if place else message, hint or "")


def explain_error(exc: TallyError) -> Explained:
    return explain(exc.code, exc.message, exc.where, exc.hint)


def error_html(explained: Explained) -> SafeString:
    """The error in the pages' markup, for a flash message (tally/_error.html escapes every part)."""
    return mark_safe(render_to_string("tally/_error.html", {"error": explained}).strip())  # noqa: S308


def error_text(exc: TallyError) -> str:
    """One line: the sentence alone (the workflow pages' flash messages), else ``CODE: message``."""
    known = ERRORS.get(exc.code)
    return str(known) if known is not None else f"{exc.code}: {exc.message}"


def own_words(text: str, *known: str) -> str:
    """A stored text in the reader's language when it is Tally's own words: one of ``known``
    (English, marked with gettext_noop), perhaps followed by the cause, e.g. `` (KeyboardInterrupt)``,
    which stays as it is; any other text as it is."""
    for words in known:
        if text == words or text.startswith(f"{words} ("):
            return gettext(words) + text[len(words):]
    return text
