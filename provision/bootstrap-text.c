/*
 * bootstrap-text.c: every text of the bootstrap pages, one table per
 * language.  Pages refer to texts by id only; {1}, {2} ... are filled in
 * (escaped) by html_text().  A new language is one more table and one row
 * in text_langs.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bootstrap.h"

static const char *const text_en[T_COUNT] = {
	[T_LANG_CODE] = "en",
	[T_LANG_NAME] = "English",
	[T_SWITCH_LABEL] = "Language",
	[T_SITE] = "guestbox",
	[T_SKIP] = "Skip to content",

	[T_INVALID_TITLE] = "This link is no longer valid",
	[T_INVALID_TEXT] = "The link may have been used already, or it may "
	    "have expired.",
	[T_INVALID_HINT] = "Please ask the person who wrote to you to send a "
	    "new invitation. If you have already set your password, simply "
	    "use your mail program.",

	[T_PIN_TITLE] = "Enter your PIN",
	[T_PIN_INTRO] = "The sender protected this mailbox with a PIN. The "
	    "sender gives it to you by another way than e-mail, for example "
	    "by phone, text message or in person.",
	[T_PIN_NONE] = "If you do not have a PIN yet, please contact the "
	    "sender directly.",
	[T_PIN_LABEL] = "PIN",
	[T_PIN_SUBMIT] = "Continue",
	[T_PIN_WRONG] = "This PIN is not correct. Please check it and try "
	    "again. After too many wrong attempts the link is locked.",
	[T_PIN_FORMAT] = "A PIN consists of digits only; spaces between "
	    "them are fine.",
	[T_PIN_SHORT] = "A PIN has at least 4 digits. Please check it and "
	    "try again; this did not count as an attempt.",
	[T_PIN_LONG] = "A PIN has at most 12 digits. Please check it and "
	    "try again; this did not count as an attempt.",
	[T_PIN_LEFT_ONE] = "1 attempt left: after one more wrong PIN the "
	    "invitation is locked.",
	[T_PIN_LEFT_MANY] = "{1} attempts left: after that many wrong PINs "
	    "the invitation is locked.",

	[T_LOCKED_TITLE] = "This invitation is locked",
	[T_LOCKED_TEXT] = "The PIN was entered wrongly too many times, so "
	    "the invitation was locked to protect your mailbox.",
	[T_LOCKED_HINT] = "You do not need a new invitation: ask the "
	    "person who wrote to you to have it unlocked. Then reload this "
	    "page, or open the link from the invitation mail again, and "
	    "enter the PIN.",

	[T_PW_TITLE] = "Choose your password",
	[T_PW_INTRO] = "Your messages are stored encrypted. Only this "
	    "password can open them, and you will use it in your mail program.",
	[T_PW_WARNING_HEAD] = "Important: this password can never be changed "
	    "or reset.",
	[T_PW_WARNING] = "Nobody can recover it for you, not even the "
	    "operators of this service. If you forget it, all messages in "
	    "this mailbox are lost for good. Write it down and keep it in a "
	    "safe place, or store it in a password manager.",
	[T_PW_USER_LABEL] = "Your user name",
	[T_PW_LABEL] = "Password",
	[T_PW_LABEL2] = "Password again",
	[T_PW_HINT] = "At least {1} characters. A few unrelated words make a "
	    "good password that is easy to remember.",
	[T_PW_SUBMIT] = "Set password",
	[T_PW_MISMATCH] = "The two passwords are not the same. Please type "
	    "them again.",
	[T_PW_SHORT] = "This password is too short: it needs at least {1} "
	    "characters.",
	[T_PW_LONG] = "This password is too long.",
	[T_PW_COMMON] = "This password is too easy to guess: it is one of "
	    "the most common passwords. Please choose another.",
	[T_PW_FEW_CHARS] = "This password uses too few different "
	    "characters: it needs at least {2} different ones. Please "
	    "choose another.",
	[T_PW_ADDRESS] = "The password must not contain your e-mail address "
	    "or its name part. Please choose another.",
	[T_PW_BAD_CHARS] = "The password contains characters that cannot be "
	    "used. Please choose another.",

	[T_DONE_TITLE] = "Your mailbox is ready",
	[T_DONE_INTRO] = "Your password is set. Read and answer your messages "
	    "with any mail program, using the address {1} as user name.",
	[T_DONE_ENCRYPTED] = "Your replies are encrypted: guestbox "
	    "encrypts every message you send from this mailbox with "
	    "OpenPGP for its recipient before it leaves the server. Your "
	    "mail program need not do it, so its own \"Encrypt\" button "
	    "may stay greyed out. You can write to: {1}. The first message "
	    "in your INBOX says the same.",
	[T_DONE_CORR_UNKNOWN] = "the people who wrote to you",
	[T_DONE_SETTINGS] = "Settings for your mail program",
	[T_DONE_INCOMING] = "Incoming mail (IMAP)",
	[T_DONE_OUTGOING] = "Outgoing mail (SMTP)",
	[T_DONE_SERVER] = "Server",
	[T_DONE_PORT] = "Port",
	[T_DONE_SECURITY] = "Connection security",
	[T_DONE_USER] = "User name",
	[T_DONE_AUTH] = "Authentication",
	[T_DONE_AUTH_NORMAL] = "Normal password",
	[T_DONE_SEC_TLS] = "SSL/TLS",
	[T_DONE_SEC_STARTTLS] = "STARTTLS",
	[T_DONE_PASSWORD_NOTE] = "The password is the one you have just "
	    "chosen. Replies you send are encrypted automatically and filed "
	    "in the folder {1}.",
	[T_DONE_TB_HEAD] = "Thunderbird",
	[T_DONE_TB_1] = "Add a new mail account and enter your name, the "
	    "address {1} and your password.",
	[T_DONE_TB_2] = "Choose \xe2\x80\x9c" "Configure manually\xe2\x80\x9d. "
	    "Otherwise Thunderbird looks up the settings of your address's own "
	    "provider, which are not the right ones here.",
	[T_DONE_TB_3] = "Enter the servers, ports and security from the table "
	    "above, with your full address as user name and "
	    "\xe2\x80\x9cNormal password\xe2\x80\x9d as authentication.",
	[T_DONE_TB_4] = "Choose \xe2\x80\x9c" "Done\xe2\x80\x9d.",
	[T_DONE_APPLE_HEAD] = "iPhone, iPad and Mac",
	[T_DONE_APPLE_1] = "Open this page on the device and download the "
	    "configuration profile below.",
	[T_DONE_APPLE_2] = "iPhone and iPad: open Settings, tap "
	    "\xe2\x80\x9cProfile Downloaded\xe2\x80\x9d and install it. Mac: "
	    "open System Settings, Privacy & Security, Profiles.",
	[T_DONE_APPLE_3] = "Enter your password when you are asked for it. "
	    "The profile does not contain it.",
	[T_DONE_APPLE_LINK] = "Download the configuration profile",
	[T_DONE_APPLE_LATER] = "The download is available for a few minutes "
	    "only. Without it, add the account by hand in Mail with the "
	    "settings above.",
	[T_DONE_K9_HEAD] = "Thunderbird for Android and K-9 Mail",
	[T_DONE_K9_1] = "Add an account, enter the address {1} and choose "
	    "\xe2\x80\x9cManual setup\xe2\x80\x9d.",
	[T_DONE_K9_2] = "Choose IMAP and enter the incoming server, port and "
	    "security from the table above.",
	[T_DONE_K9_3] = "Enter the outgoing server, port and security, with "
	    "your full address as user name.",
	[T_DONE_FAIR_HEAD] = "FairEmail",
	[T_DONE_FAIR_1] = "Open the set-up, choose \xe2\x80\x9cOther "
	    "provider\xe2\x80\x9d and then \xe2\x80\x9cManual setup and "
	    "account options\xe2\x80\x9d.",
	[T_DONE_FAIR_2] = "Add an account (IMAP) with the incoming server, "
	    "port, security and user name from the table above.",
	[T_DONE_FAIR_3] = "Add an identity (SMTP) with the outgoing server, "
	    "port and security, and the same user name and password.",
	[T_DONE_OTHER] = "Other mail programs work the same way: IMAP for "
	    "reading and SMTP for sending, both with your full address and "
	    "your password.",
	[T_DONE_FOLDERS] = "Your folders are INBOX, {1} (sent), {2} (drafts), "
	    "{3} (trash), {4} (archive) and {5} (junk).",

	[T_ERR_CSRF_TITLE] = "The form could not be accepted",
	[T_ERR_CSRF_TEXT] = "The form was old or did not come from this page. "
	    "Nothing was changed. Please start again.",
	[T_ERR_SESSION_TITLE] = "Your session has ended",
	[T_ERR_SESSION_TEXT] = "Too much time has passed, or the cookie of "
	    "this page was blocked. Nothing was changed. Please open the link "
	    "from your invitation mail again.",
	[T_ERR_THROTTLE_TITLE] = "Too many attempts",
	[T_ERR_THROTTLE_TEXT] = "Too many attempts came from your network. "
	    "Please wait a minute and try again.",
	[T_ERR_BUSY_TITLE] = "Please try again",
	[T_ERR_BUSY_TEXT] = "The service is busy or has a temporary problem. "
	    "Nothing was changed. Please try again in a few minutes.",
	[T_ERR_NOTFOUND_TITLE] = "Page not found",
	[T_ERR_NOTFOUND_TEXT] = "There is no page at this address. Please "
	    "use the link from your invitation mail.",
	[T_ERR_METHOD_TITLE] = "Not possible here",
	[T_ERR_METHOD_TEXT] = "This page does not accept this kind of request.",
	[T_ERR_TOOBIG_TITLE] = "Too much data",
	[T_ERR_TOOBIG_TEXT] = "The form sent more data than this page "
	    "accepts. Nothing was changed.",
	[T_ERR_BADFORM_TITLE] = "The form could not be read",
	[T_ERR_BADFORM_TEXT] = "The form was sent in a form this page does not "
	    "understand. Nothing was changed. Please start again.",
	[T_START_AGAIN] = "Start again",

	[T_PROFILE_NAME] = "Mail account {1}",
	[T_PROFILE_DESC] = "Sets up the mail account {1}. Your password is not "
	    "part of this profile: enter it when you are asked.",
	[T_PROFILE_DESC_DEVICE] = "Sets up the mail account {1} with a device "
	    "password of its own, not your password. If the device is lost, "
	    "revoke it on your page, {2}/account.",

	[T_PHONE_HEAD] = "iPhone and iPad: a link for the device",
	[T_PHONE_TEXT] = "Make a link here and open it on the iPhone or iPad, "
	    "or scan its QR code with the device's camera: it installs Mail "
	    "with a device password of its own, not your password, which you "
	    "can revoke on your page at any time. Enter your password once "
	    "more for it.",
	[T_PHONE_SUBMIT] = "Make a link for my iPhone or iPad",
	[T_PHONE_DEVICE_NAME] = "iPhone profile",
	[T_PHONE_TITLE] = "Open this link on your iPhone or iPad",
	[T_PHONE_SCAN] = "Scan the code with the camera of the iPhone or iPad, "
	    "or open the link in Safari there. Then open Settings, tap "
	    "\xe2\x80\x9cProfile Downloaded\xe2\x80\x9d and install it.",
	[T_PHONE_ONCE] = "The link works once, for {1} minutes. If it is not "
	    "used, its device password is revoked by itself.",
	[T_PHONE_QR_LABEL] = "QR code of the link for your iPhone or iPad",
	[T_PHONE_BACK] = "Back",
	[T_PHONE_GONE_TITLE] = "This link has been used or has expired",
	[T_PHONE_GONE_TEXT] = "A link for a phone works once and for a few "
	    "minutes only. Make a new one on your page: {1}/account",

	[T_ACCT_LOGIN_TITLE] = "Your mailbox",
	[T_ACCT_LOGIN_INTRO] = "Log in with the address of your temporary "
	    "mailbox and the password you chose for it, as in your mail "
	    "program.",
	[T_ACCT_ADDRESS_LABEL] = "E-mail address",
	[T_ACCT_PASSWORD_LABEL] = "Password",
	[T_ACCT_LOGIN_SUBMIT] = "Log in",
	[T_ACCT_WRONG] = "The address or the password is not correct. Please "
	    "check both and try again; after several wrong attempts you have "
	    "to wait a little.",
	[T_ACCT_TITLE] = "Your mailbox",
	[T_ACCT_INTRO] = "You are logged in as {1}.",
	[T_ACCT_EXPIRES] = "Your mailbox is kept until {1}; every login and "
	    "every new message keeps it longer.",
	[T_ACCT_NOTICES_HEAD] = "Notices of new mail",
	[T_ACCT_NOTICES_ON] = "When new mail arrives and none of your mail "
	    "programs has been connected for a while, a short notice goes to "
	    "your address. It names neither sender nor content.",
	[T_ACCT_NOTICES_OFF] = "No notices of new mail are sent.",
	[T_ACCT_NOTICES_DISABLE] = "Switch notices off",
	[T_ACCT_NOTICES_ENABLE] = "Switch notices on",
	[T_ACCT_LOCK_HEAD] = "Lock the mailbox",
	[T_ACCT_UNLOCKED] = "Your mail programs can log in. If a device with "
	    "your password was lost, lock the mailbox: no program can log in "
	    "any more, open connections end at once, and new mail is still "
	    "delivered. Only this page can unlock it.",
	[T_ACCT_LOCKED] = "The mailbox is locked: no mail program can log in. "
	    "New mail is still delivered.",
	[T_ACCT_LOCK] = "Lock the mailbox",
	[T_ACCT_UNLOCK] = "Unlock the mailbox",
	[T_ACCT_LOGOUT] = "Log out",
	[T_ACCT_SAVED] = "Your change was saved.",
	[T_ACCT_DEV_HEAD] = "Device passwords",
	[T_ACCT_DEV_TEXT] = "Give each phone or computer a password of its "
	    "own. It works like your password in the mail program, and when "
	    "the device is lost you revoke it here: it stops working at once "
	    "and the device's connections end. Your own password stays as it "
	    "is.",
	[T_ACCT_DEV_NONE] = "There are no device passwords yet.",
	[T_ACCT_DEV_REVOKE] = "Revoke",
	[T_ACCT_DEV_NAME_LABEL] = "Name of the device",
	[T_ACCT_DEV_SUBMIT] = "Make a device password",
	[T_ACCT_DEV_NAME] = "Please give the device a name of at most 64 "
	    "characters.",
	[T_ACCT_DEV_FULL] = "There are as many device passwords as there can "
	    "be. Revoke one first.",
	[T_ACCT_DEV_NEW_TITLE] = "Your new device password",
	[T_ACCT_DEV_NEW_TEXT] = "The password for \xe2\x80\x9c{1}\xe2\x80\x9d: "
	    "enter it in the mail program on that device, with {2} as the user "
	    "name.",
	[T_ACCT_DEV_NEW_ONCE] = "It is shown only this once. If you lose it, "
	    "revoke it and make a new one.",
	[T_ACCT_DEV_BACK] = "Back to your mailbox",
	[T_ACCT_LOGINS_HEAD] = "Recent logins",
	[T_ACCT_LOGINS_TEXT] = "The last 50 logins: when, with which program "
	    "and from where. They are kept encrypted so that only your "
	    "password opens them: enter it once more.",
	[T_ACCT_LOGINS_SUBMIT] = "Show the logins",
	[T_ACCT_LOGINS_CAPTION] = "Logins, the newest first (addresses "
	    "shortened)",
	[T_ACCT_LOGINS_WHEN] = "Time",
	[T_ACCT_LOGINS_PROTO] = "Through",
	[T_ACCT_LOGINS_FROM] = "From",
	[T_ACCT_LOGINS_DEVICE] = "Password",
	[T_ACCT_LOGINS_IMAP] = "Reading (IMAP)",
	[T_ACCT_LOGINS_SMTP] = "Sending (SMTP)",
	[T_ACCT_LOGINS_PAGE] = "This page",
	[T_ACCT_LOGINS_MAIN] = "Your password",
	[T_ACCT_MBOX_HEAD] = "Download all mail",
	[T_ACCT_MBOX_TEXT] = "All folders as one mbox file, decrypted, for a "
	    "mail program or an archive. Enter your password once more: this "
	    "page keeps no key of yours.",
	[T_ACCT_MBOX_SUBMIT] = "Download",
	[T_LOST_LINK] = "Forgot your password?",
	[T_LOST_TITLE] = "Forgot your password?",
	[T_LOST_PROMISE] = "Your password cannot be recovered, reset or "
	    "changed \xe2\x80\x93 not by us and not by anyone else. That is "
	    "what keeps your mail safe: it is stored encrypted with a key that "
	    "only your password opens, and the password itself is stored "
	    "nowhere.",
	[T_LOST_GONE] = "Without the password, the mail in this mailbox can "
	    "never be opened again. What you can get is a new invitation: a "
	    "fresh start with a new password, in which the old messages are "
	    "deleted (nobody could read them any more).",
	[T_LOST_HOW] = "Enter the address of your temporary mailbox. The "
	    "people who wrote to you there are then told by encrypted mail "
	    "that you lost the password and how the administrator makes a new "
	    "invitation. They do not get any of your mail.",
	[T_LOST_SUBMIT] = "Ask for a new invitation",
	[T_LOST_ASKED] = "Thank you. If this address has an active mailbox "
	    "here, the people who wrote to it are now told by encrypted mail. "
	    "You do not need to ask again: asking again soon sends nothing "
	    "more.",
	[T_LOST_DIRECT] = "If you know who wrote to you, you can also ask "
	    "them directly for a new invitation.",
	[T_LOST_BACK] = "Back to the login",
	[T_DONE_LOST] = "Keep your password safe: nobody can change or "
	    "recover it, not even the administrator.",
};

static const char *const text_de[T_COUNT] = {
	[T_LANG_CODE] = "de",
	[T_LANG_NAME] = "Deutsch",
	[T_SWITCH_LABEL] = "Sprache",
	[T_SITE] = "guestbox",
	[T_SKIP] = "Zum Inhalt springen",

	[T_INVALID_TITLE] = "Dieser Link ist nicht mehr g\xc3\xbcltig",
	[T_INVALID_TEXT] = "Der Link wurde vielleicht schon benutzt oder ist "
	    "abgelaufen.",
	[T_INVALID_HINT] = "Bitten Sie die Person, die Ihnen geschrieben hat, "
	    "um eine neue Einladung. Wenn Sie Ihr Passwort schon festgelegt "
	    "haben, benutzen Sie einfach Ihr E-Mail-Programm.",

	[T_PIN_TITLE] = "PIN eingeben",
	[T_PIN_INTRO] = "Der Absender hat dieses Postfach mit einer PIN "
	    "gesch\xc3\xbctzt. Sie erhalten sie vom Absender auf einem anderen "
	    "Weg als per E-Mail, zum Beispiel am Telefon, per SMS oder "
	    "pers\xc3\xb6nlich.",
	[T_PIN_NONE] = "Falls Sie noch keine PIN haben, wenden Sie sich bitte "
	    "direkt an den Absender.",
	[T_PIN_LABEL] = "PIN",
	[T_PIN_SUBMIT] = "Weiter",
	[T_PIN_WRONG] = "Diese PIN ist nicht richtig. Bitte pr\xc3\xbc" "fen "
	    "Sie sie und versuchen Sie es noch einmal. Nach zu vielen falschen "
	    "Versuchen wird der Link gesperrt.",
	[T_PIN_FORMAT] = "Eine PIN besteht nur aus Ziffern; Leerzeichen "
	    "dazwischen sind erlaubt.",
	[T_PIN_SHORT] = "Eine PIN hat mindestens 4 Ziffern. Bitte "
	    "pr\xc3\xbc" "fen Sie sie und versuchen Sie es noch einmal; "
	    "dies z\xc3\xa4hlte nicht als Versuch.",
	[T_PIN_LONG] = "Eine PIN hat h\xc3\xb6" "chstens 12 Ziffern. Bitte "
	    "pr\xc3\xbc" "fen Sie sie und versuchen Sie es noch einmal; "
	    "dies z\xc3\xa4hlte nicht als Versuch.",
	[T_PIN_LEFT_ONE] = "Noch 1 Versuch: Nach einer weiteren falschen "
	    "PIN wird die Einladung gesperrt.",
	[T_PIN_LEFT_MANY] = "Noch {1} Versuche: Nach so vielen falschen "
	    "PINs wird die Einladung gesperrt.",

	[T_LOCKED_TITLE] = "Diese Einladung ist gesperrt",
	[T_LOCKED_TEXT] = "Die PIN wurde zu oft falsch eingegeben; deshalb "
	    "wurde die Einladung zum Schutz Ihres Postfachs gesperrt.",
	[T_LOCKED_HINT] = "Sie brauchen keine neue Einladung: Bitten Sie "
	    "die Person, die Ihnen geschrieben hat, sie entsperren zu "
	    "lassen. Laden Sie danach diese Seite neu oder \xc3\xb6" "ffnen "
	    "Sie den Link aus der Einladung noch einmal, und geben "
	    "Sie die PIN ein.",

	[T_PW_TITLE] = "Passwort festlegen",
	[T_PW_INTRO] = "Ihre Nachrichten werden verschl\xc3\xbcsselt "
	    "gespeichert. Nur dieses Passwort kann sie \xc3\xb6" "ffnen; Sie "
	    "verwenden es in Ihrem E-Mail-Programm.",
	[T_PW_WARNING_HEAD] = "Wichtig: Dieses Passwort kann nie "
	    "ge\xc3\xa4ndert oder zur\xc3\xbc" "ckgesetzt werden.",
	[T_PW_WARNING] = "Niemand kann es f\xc3\xbcr Sie wiederherstellen, "
	    "auch nicht die Betreiber dieses Dienstes. Wenn Sie es vergessen, "
	    "sind alle Nachrichten in diesem Postfach endg\xc3\xbcltig "
	    "verloren. Schreiben Sie es auf und bewahren Sie es sicher auf, "
	    "oder speichern Sie es in einem Passwort-Manager.",
	[T_PW_USER_LABEL] = "Ihr Benutzername",
	[T_PW_LABEL] = "Passwort",
	[T_PW_LABEL2] = "Passwort wiederholen",
	[T_PW_HINT] = "Mindestens {1} Zeichen. Einige W\xc3\xb6rter, die "
	    "nichts miteinander zu tun haben, ergeben ein gutes Passwort, das "
	    "man sich leicht merkt.",
	[T_PW_SUBMIT] = "Passwort festlegen",
	[T_PW_MISMATCH] = "Die beiden Passw\xc3\xb6rter stimmen nicht "
	    "\xc3\xbc" "berein. Bitte geben Sie sie noch einmal ein.",
	[T_PW_SHORT] = "Dieses Passwort ist zu kurz: Es braucht mindestens "
	    "{1} Zeichen.",
	[T_PW_LONG] = "Dieses Passwort ist zu lang.",
	[T_PW_COMMON] = "Dieses Passwort ist zu leicht zu erraten: Es "
	    "geh\xc3\xb6rt zu den h\xc3\xa4ufigsten Passw\xc3\xb6rtern. Bitte "
	    "w\xc3\xa4hlen Sie ein anderes.",
	[T_PW_FEW_CHARS] = "Dieses Passwort hat zu wenige verschiedene "
	    "Zeichen: Es braucht mindestens {2} verschiedene. Bitte "
	    "w\xc3\xa4hlen Sie ein anderes.",
	[T_PW_ADDRESS] = "Das Passwort darf Ihre E-Mail-Adresse oder deren "
	    "Namensteil nicht enthalten. Bitte w\xc3\xa4hlen Sie ein anderes.",
	[T_PW_BAD_CHARS] = "Das Passwort enth\xc3\xa4lt Zeichen, die nicht "
	    "verwendet werden k\xc3\xb6nnen. Bitte w\xc3\xa4hlen Sie ein "
	    "anderes.",

	[T_DONE_TITLE] = "Ihr Postfach ist bereit",
	[T_DONE_INTRO] = "Ihr Passwort ist festgelegt. Lesen und beantworten "
	    "Sie Ihre Nachrichten mit jedem E-Mail-Programm, mit der Adresse "
	    "{1} als Benutzername.",
	[T_DONE_ENCRYPTED] = "Ihre Antworten werden verschl\xc3\xbcsselt: "
	    "guestbox verschl\xc3\xbcsselt jede Nachricht, die Sie aus "
	    "diesem Postfach senden, mit OpenPGP f\xc3\xbcr den "
	    "Empf\xc3\xa4nger, bevor sie den Server verl\xc3\xa4sst. Ihr "
	    "E-Mail-Programm muss das nicht tun; sein eigener Knopf "
	    "\xe2\x80\x9eVerschl\xc3\xbcsseln\xe2\x80\x9c darf ausgegraut "
	    "bleiben. Sie k\xc3\xb6nnen schreiben an: {1}. Die erste "
	    "Nachricht in Ihrem Posteingang sagt dasselbe.",
	[T_DONE_CORR_UNKNOWN] = "die Personen, die Ihnen geschrieben haben",
	[T_DONE_SETTINGS] = "Einstellungen f\xc3\xbcr Ihr E-Mail-Programm",
	[T_DONE_INCOMING] = "Posteingang (IMAP)",
	[T_DONE_OUTGOING] = "Postausgang (SMTP)",
	[T_DONE_SERVER] = "Server",
	[T_DONE_PORT] = "Port",
	[T_DONE_SECURITY] = "Verbindungssicherheit",
	[T_DONE_USER] = "Benutzername",
	[T_DONE_AUTH] = "Authentifizierung",
	[T_DONE_AUTH_NORMAL] = "Passwort, normal",
	[T_DONE_SEC_TLS] = "SSL/TLS",
	[T_DONE_SEC_STARTTLS] = "STARTTLS",
	[T_DONE_PASSWORD_NOTE] = "Das Passwort ist das eben gew\xc3\xa4hlte. "
	    "Ihre Antworten werden automatisch verschl\xc3\xbcsselt und im "
	    "Ordner {1} abgelegt.",
	[T_DONE_TB_HEAD] = "Thunderbird",
	[T_DONE_TB_1] = "Legen Sie ein neues E-Mail-Konto an und geben Sie "
	    "Ihren Namen, die Adresse {1} und Ihr Passwort ein.",
	[T_DONE_TB_2] = "W\xc3\xa4hlen Sie \xe2\x80\x9eManuell "
	    "einrichten\xe2\x80\x9c. Sonst sucht Thunderbird die Einstellungen "
	    "des eigentlichen Anbieters Ihrer Adresse, und die passen hier "
	    "nicht.",
	[T_DONE_TB_3] = "Tragen Sie Server, Ports und Sicherheit aus der "
	    "Tabelle oben ein, mit Ihrer vollst\xc3\xa4ndigen Adresse als "
	    "Benutzername und \xe2\x80\x9ePasswort, normal\xe2\x80\x9c als "
	    "Authentifizierung.",
	[T_DONE_TB_4] = "W\xc3\xa4hlen Sie \xe2\x80\x9e" "Fertig\xe2\x80\x9c.",
	[T_DONE_APPLE_HEAD] = "iPhone, iPad und Mac",
	[T_DONE_APPLE_1] = "\xc3\x96" "ffnen Sie diese Seite auf dem "
	    "Ger\xc3\xa4t und laden Sie unten das Konfigurationsprofil.",
	[T_DONE_APPLE_2] = "iPhone und iPad: \xc3\x96" "ffnen Sie "
	    "Einstellungen, tippen Sie auf \xe2\x80\x9eProfil "
	    "geladen\xe2\x80\x9c und installieren Sie es. Mac: "
	    "Systemeinstellungen, Datenschutz & Sicherheit, Profile.",
	[T_DONE_APPLE_3] = "Geben Sie Ihr Passwort ein, wenn Sie danach "
	    "gefragt werden. Das Profil enth\xc3\xa4lt es nicht.",
	[T_DONE_APPLE_LINK] = "Konfigurationsprofil herunterladen",
	[T_DONE_APPLE_LATER] = "Der Download ist nur einige Minuten lang "
	    "m\xc3\xb6glich. Ohne ihn richten Sie das Konto in Mail von Hand "
	    "mit den Einstellungen oben ein.",
	[T_DONE_K9_HEAD] = "Thunderbird f\xc3\xbcr Android und K-9 Mail",
	[T_DONE_K9_1] = "F\xc3\xbcgen Sie ein Konto hinzu, geben Sie die "
	    "Adresse {1} ein und w\xc3\xa4hlen Sie \xe2\x80\x9eManuelle "
	    "Einrichtung\xe2\x80\x9c.",
	[T_DONE_K9_2] = "W\xc3\xa4hlen Sie IMAP und tragen Sie Server, Port und "
	    "Sicherheit f\xc3\xbcr den Posteingang aus der Tabelle oben ein.",
	[T_DONE_K9_3] = "Tragen Sie Server, Port und Sicherheit f\xc3\xbcr den "
	    "Postausgang ein, mit Ihrer vollst\xc3\xa4ndigen Adresse als "
	    "Benutzername.",
	[T_DONE_FAIR_HEAD] = "FairEmail",
	[T_DONE_FAIR_1] = "\xc3\x96" "ffnen Sie die Einrichtung, w\xc3\xa4hlen "
	    "Sie \xe2\x80\x9e" "Anderer Anbieter\xe2\x80\x9c und dann "
	    "\xe2\x80\x9eManuelle Einrichtung und Kontooptionen\xe2\x80\x9c.",
	[T_DONE_FAIR_2] = "F\xc3\xbcgen Sie ein Konto (IMAP) mit Server, Port, "
	    "Sicherheit und Benutzername f\xc3\xbcr den Posteingang aus der "
	    "Tabelle oben hinzu.",
	[T_DONE_FAIR_3] = "F\xc3\xbcgen Sie eine Identit\xc3\xa4t (SMTP) mit "
	    "Server, Port und Sicherheit f\xc3\xbcr den Postausgang hinzu, mit "
	    "demselben Benutzernamen und Passwort.",
	[T_DONE_OTHER] = "Andere E-Mail-Programme funktionieren genauso: IMAP "
	    "zum Lesen und SMTP zum Senden, beide mit Ihrer vollst\xc3\xa4ndigen "
	    "Adresse und Ihrem Passwort.",
	[T_DONE_FOLDERS] = "Ihre Ordner sind INBOX (Posteingang), {1} "
	    "(Gesendet), {2} (Entw\xc3\xbcrfe), {3} (Papierkorb), {4} (Archiv) "
	    "und {5} (Spam).",

	[T_ERR_CSRF_TITLE] = "Das Formular wurde nicht angenommen",
	[T_ERR_CSRF_TEXT] = "Das Formular war veraltet oder kam nicht von "
	    "dieser Seite. Es wurde nichts ge\xc3\xa4ndert. Bitte beginnen Sie "
	    "noch einmal.",
	[T_ERR_SESSION_TITLE] = "Ihre Sitzung ist abgelaufen",
	[T_ERR_SESSION_TEXT] = "Es ist zu viel Zeit vergangen, oder das Cookie "
	    "dieser Seite wurde blockiert. Es wurde nichts ge\xc3\xa4ndert. "
	    "Bitte \xc3\xb6" "ffnen Sie den Link aus Ihrer Einladung noch "
	    "einmal.",
	[T_ERR_THROTTLE_TITLE] = "Zu viele Versuche",
	[T_ERR_THROTTLE_TEXT] = "Aus Ihrem Netz kamen zu viele Versuche. Bitte "
	    "warten Sie eine Minute und versuchen Sie es dann noch einmal.",
	[T_ERR_BUSY_TITLE] = "Bitte versuchen Sie es noch einmal",
	[T_ERR_BUSY_TEXT] = "Der Dienst ist ausgelastet oder hat ein "
	    "vor\xc3\xbc" "bergehendes Problem. Es wurde nichts ge\xc3\xa4ndert. "
	    "Bitte versuchen Sie es in einigen Minuten noch einmal.",
	[T_ERR_NOTFOUND_TITLE] = "Seite nicht gefunden",
	[T_ERR_NOTFOUND_TEXT] = "Unter dieser Adresse gibt es keine Seite. "
	    "Bitte benutzen Sie den Link aus Ihrer Einladung.",
	[T_ERR_METHOD_TITLE] = "Hier nicht m\xc3\xb6glich",
	[T_ERR_METHOD_TEXT] = "Diese Seite nimmt diese Art von Anfrage nicht "
	    "an.",
	[T_ERR_TOOBIG_TITLE] = "Zu viele Daten",
	[T_ERR_TOOBIG_TEXT] = "Das Formular hat mehr Daten geschickt, als diese "
	    "Seite annimmt. Es wurde nichts ge\xc3\xa4ndert.",
	[T_ERR_BADFORM_TITLE] = "Das Formular konnte nicht gelesen werden",
	[T_ERR_BADFORM_TEXT] = "Das Formular kam in einer Form, die diese Seite "
	    "nicht versteht. Es wurde nichts ge\xc3\xa4ndert. Bitte beginnen Sie "
	    "noch einmal.",
	[T_START_AGAIN] = "Noch einmal beginnen",

	[T_PROFILE_NAME] = "E-Mail-Konto {1}",
	[T_PROFILE_DESC] = "Richtet das E-Mail-Konto {1} ein. Ihr Passwort ist "
	    "nicht Teil dieses Profils: Geben Sie es ein, wenn Sie danach "
	    "gefragt werden.",
	[T_PROFILE_DESC_DEVICE] = "Richtet das E-Mail-Konto {1} mit einem "
	    "eigenen Ger\xc3\xa4te-Passwort ein, nicht mit Ihrem Passwort. "
	    "Geht das Ger\xc3\xa4t verloren, widerrufen Sie es auf Ihrer "
	    "Seite, {2}/account.",

	[T_PHONE_HEAD] = "iPhone und iPad: ein Link f\xc3\xbcr das "
	    "Ger\xc3\xa4t",
	[T_PHONE_TEXT] = "Erzeugen Sie hier einen Link und \xc3\xb6" "ffnen "
	    "Sie ihn auf dem iPhone oder iPad, oder scannen Sie seinen QR-Code "
	    "mit der Kamera des Ger\xc3\xa4ts: Er richtet Mail mit einem "
	    "eigenen Ger\xc3\xa4te-Passwort ein, nicht mit Ihrem Passwort, "
	    "und Sie k\xc3\xb6nnen es auf Ihrer Seite jederzeit widerrufen. "
	    "Geben Sie daf\xc3\xbcr Ihr Passwort noch einmal ein.",
	[T_PHONE_SUBMIT] = "Link f\xc3\xbcr mein iPhone oder iPad erzeugen",
	[T_PHONE_DEVICE_NAME] = "iPhone-Profil",
	[T_PHONE_TITLE] = "\xc3\x96" "ffnen Sie diesen Link auf Ihrem iPhone "
	    "oder iPad",
	[T_PHONE_SCAN] = "Scannen Sie den Code mit der Kamera des iPhones oder "
	    "iPads, oder \xc3\xb6" "ffnen Sie den Link dort in Safari. "
	    "\xc3\x96" "ffnen Sie dann Einstellungen, tippen Sie auf "
	    "\xe2\x80\x9eProfil geladen\xe2\x80\x9c und installieren Sie es.",
	[T_PHONE_ONCE] = "Der Link funktioniert einmal, {1} Minuten lang. Wird "
	    "er nicht benutzt, wird sein Ger\xc3\xa4te-Passwort von selbst "
	    "widerrufen.",
	[T_PHONE_QR_LABEL] = "QR-Code des Links f\xc3\xbcr Ihr iPhone oder "
	    "iPad",
	[T_PHONE_BACK] = "Zur\xc3\xbc" "ck",
	[T_PHONE_GONE_TITLE] = "Dieser Link wurde schon benutzt oder ist "
	    "abgelaufen",
	[T_PHONE_GONE_TEXT] = "Ein Link f\xc3\xbcr ein Telefon funktioniert "
	    "nur einmal und nur einige Minuten lang. Erzeugen Sie auf Ihrer "
	    "Seite einen neuen: {1}/account",

	[T_ACCT_LOGIN_TITLE] = "Ihr Postfach",
	[T_ACCT_LOGIN_INTRO] = "Melden Sie sich mit der Adresse Ihres "
	    "tempor\xc3\xa4ren Postfachs und dem Passwort an, das Sie daf\xc3\xbcr "
	    "gew\xc3\xa4hlt haben, wie in Ihrem Mailprogramm.",
	[T_ACCT_ADDRESS_LABEL] = "E-Mail-Adresse",
	[T_ACCT_PASSWORD_LABEL] = "Passwort",
	[T_ACCT_LOGIN_SUBMIT] = "Anmelden",
	[T_ACCT_WRONG] = "Die Adresse oder das Passwort stimmt nicht. Bitte "
	    "pr\xc3\xbc" "fen Sie beides und versuchen Sie es noch einmal; nach "
	    "mehreren falschen Versuchen m\xc3\xbcssen Sie etwas warten.",
	[T_ACCT_TITLE] = "Ihr Postfach",
	[T_ACCT_INTRO] = "Sie sind angemeldet als {1}.",
	[T_ACCT_EXPIRES] = "Ihr Postfach bleibt bis {1} erhalten; jede "
	    "Anmeldung und jede neue Nachricht verl\xc3\xa4ngert das.",
	[T_ACCT_NOTICES_HEAD] = "Hinweise auf neue Post",
	[T_ACCT_NOTICES_ON] = "Kommt neue Post und war eine Weile keines Ihrer "
	    "Mailprogramme verbunden, geht ein kurzer Hinweis an Ihre Adresse. "
	    "Er nennt weder Absender noch Inhalt.",
	[T_ACCT_NOTICES_OFF] = "Es werden keine Hinweise auf neue Post "
	    "verschickt.",
	[T_ACCT_NOTICES_DISABLE] = "Hinweise abschalten",
	[T_ACCT_NOTICES_ENABLE] = "Hinweise einschalten",
	[T_ACCT_LOCK_HEAD] = "Postfach sperren",
	[T_ACCT_UNLOCKED] = "Ihre Mailprogramme k\xc3\xb6nnen sich anmelden. Ist "
	    "ein Ger\xc3\xa4t mit Ihrem Passwort verloren gegangen, sperren Sie "
	    "das Postfach: Kein Programm kann sich dann anmelden, offene "
	    "Verbindungen enden sofort, und neue Post wird weiter zugestellt. "
	    "Nur diese Seite hebt die Sperre auf.",
	[T_ACCT_LOCKED] = "Das Postfach ist gesperrt: Kein Mailprogramm kann "
	    "sich anmelden. Neue Post wird weiter zugestellt.",
	[T_ACCT_LOCK] = "Postfach sperren",
	[T_ACCT_UNLOCK] = "Sperre aufheben",
	[T_ACCT_LOGOUT] = "Abmelden",
	[T_ACCT_SAVED] = "Ihre \xc3\x84nderung wurde gespeichert.",
	[T_ACCT_DEV_HEAD] = "Ger\xc3\xa4te-Passw\xc3\xb6rter",
	[T_ACCT_DEV_TEXT] = "Geben Sie jedem Telefon und Computer ein eigenes "
	    "Passwort. Es wirkt im Mailprogramm wie Ihr Passwort; geht das "
	    "Ger\xc3\xa4t verloren, widerrufen Sie es hier: Es gilt sofort nicht "
	    "mehr, und die Verbindungen des Ger\xc3\xa4ts enden. Ihr eigenes "
	    "Passwort bleibt, wie es ist.",
	[T_ACCT_DEV_NONE] = "Es gibt noch keine Ger\xc3\xa4te-Passw\xc3\xb6rter.",
	[T_ACCT_DEV_REVOKE] = "Widerrufen",
	[T_ACCT_DEV_NAME_LABEL] = "Name des Ger\xc3\xa4ts",
	[T_ACCT_DEV_SUBMIT] = "Ger\xc3\xa4te-Passwort erzeugen",
	[T_ACCT_DEV_NAME] = "Bitte geben Sie dem Ger\xc3\xa4t einen Namen mit "
	    "h\xc3\xb6" "chstens 64 Zeichen.",
	[T_ACCT_DEV_FULL] = "Es gibt so viele Ger\xc3\xa4te-Passw\xc3\xb6rter wie "
	    "m\xc3\xb6glich. Widerrufen Sie zuerst eines.",
	[T_ACCT_DEV_NEW_TITLE] = "Ihr neues Ger\xc3\xa4te-Passwort",
	[T_ACCT_DEV_NEW_TEXT] = "Das Passwort f\xc3\xbcr \xe2\x80\x9e{1}"
	    "\xe2\x80\x9c: Geben Sie es im Mailprogramm dieses Ger\xc3\xa4ts "
	    "ein, mit {2} als Benutzername.",
	[T_ACCT_DEV_NEW_ONCE] = "Es wird nur dieses eine Mal angezeigt. Geht es "
	    "verloren, widerrufen Sie es und erzeugen ein neues.",
	[T_ACCT_DEV_BACK] = "Zur\xc3\xbc" "ck zu Ihrem Postfach",
	[T_ACCT_LOGINS_HEAD] = "Letzte Anmeldungen",
	[T_ACCT_LOGINS_TEXT] = "Die letzten 50 Anmeldungen: wann, mit welchem "
	    "Programm und von wo. Sie sind verschl\xc3\xbcsselt, so dass nur "
	    "Ihr Passwort sie \xc3\xb6" "ffnet: Geben Sie es noch einmal ein.",
	[T_ACCT_LOGINS_SUBMIT] = "Anmeldungen zeigen",
	[T_ACCT_LOGINS_CAPTION] = "Anmeldungen, die neueste zuerst (Adressen "
	    "gek\xc3\xbcrzt)",
	[T_ACCT_LOGINS_WHEN] = "Zeit",
	[T_ACCT_LOGINS_PROTO] = "\xc3\x9c" "ber",
	[T_ACCT_LOGINS_FROM] = "Von",
	[T_ACCT_LOGINS_DEVICE] = "Passwort",
	[T_ACCT_LOGINS_IMAP] = "Lesen (IMAP)",
	[T_ACCT_LOGINS_SMTP] = "Senden (SMTP)",
	[T_ACCT_LOGINS_PAGE] = "Diese Seite",
	[T_ACCT_LOGINS_MAIN] = "Ihr Passwort",
	[T_ACCT_MBOX_HEAD] = "Alle Post herunterladen",
	[T_ACCT_MBOX_TEXT] = "Alle Ordner als eine mbox-Datei, entschl\xc3\xbcsselt, "
	    "f\xc3\xbcr ein Mailprogramm oder ein Archiv. Geben Sie Ihr Passwort "
	    "noch einmal ein: Diese Seite beh\xc3\xa4lt keinen Schl\xc3\xbcssel von "
	    "Ihnen.",
	[T_ACCT_MBOX_SUBMIT] = "Herunterladen",
	[T_LOST_LINK] = "Passwort vergessen?",
	[T_LOST_TITLE] = "Passwort vergessen?",
	[T_LOST_PROMISE] = "Ihr Passwort kann nicht wiederhergestellt, "
	    "zur\xc3\xbc" "ckgesetzt oder ge\xc3\xa4ndert werden \xe2\x80\x93 "
	    "weder von uns noch von sonst jemandem. Genau das sch\xc3\xbctzt "
	    "Ihre Post: Sie ist mit einem Schl\xc3\xbcssel verschl\xc3\xbcsselt, "
	    "den nur Ihr Passwort \xc3\xb6" "ffnet, und das Passwort selbst ist "
	    "nirgends gespeichert.",
	[T_LOST_GONE] = "Ohne das Passwort l\xc3\xa4sst sich die Post in "
	    "diesem Postfach nie wieder \xc3\xb6" "ffnen. Was Sie bekommen "
	    "k\xc3\xb6nnen, ist eine neue Einladung: ein Neuanfang mit einem "
	    "neuen Passwort, bei dem die alten Nachrichten gel\xc3\xb6scht "
	    "werden (lesen k\xc3\xb6nnte sie ohnehin niemand mehr).",
	[T_LOST_HOW] = "Geben Sie die Adresse Ihres tempor\xc3\xa4ren "
	    "Postfachs ein. Wer Ihnen dorthin geschrieben hat, erf\xc3\xa4hrt "
	    "dann per verschl\xc3\xbcsselter Mail, dass Sie das Passwort "
	    "verloren haben und wie der Administrator eine neue Einladung "
	    "ausstellt. Von Ihrer Post bekommt niemand etwas zu sehen.",
	[T_LOST_SUBMIT] = "Neue Einladung erbitten",
	[T_LOST_ASKED] = "Danke. Wenn es zu dieser Adresse hier ein aktives "
	    "Postfach gibt, erfahren die Absender jetzt per verschl\xc3\xbcsselter "
	    "Mail davon. Sie m\xc3\xbcssen nicht noch einmal fragen: eine "
	    "baldige zweite Anfrage verschickt nichts mehr.",
	[T_LOST_DIRECT] = "Wenn Sie wissen, wer Ihnen geschrieben hat, "
	    "k\xc3\xb6nnen Sie auch direkt dort um eine neue Einladung bitten.",
	[T_LOST_BACK] = "Zur\xc3\xbc" "ck zur Anmeldung",
	[T_DONE_LOST] = "Bewahren Sie Ihr Passwort gut auf: niemand kann es "
	    "\xc3\xa4ndern oder wiederherstellen, auch der Administrator nicht.",
};

static const char *const *const text_langs[LANG_COUNT] = {
	[LANG_EN] = text_en,
	[LANG_DE] = text_de,
};

const char *
text_get(enum bs_lang lang, enum text_id id)
{
	const char	*t;

	if ((unsigned)lang >= LANG_COUNT)
		lang = LANG_EN;
	if ((unsigned)id >= T_COUNT)
		return "";
	/* A text missing in one language falls back to English. */
	if ((t = text_langs[lang][id]) == NULL && (t = text_en[id]) == NULL)
		t = "";
	return t;
}

int
text_lang_parse(const char *s)
{
	int	 l;

	for (l = 0; l < LANG_COUNT; l++)
		if (strcasecmp(s, text_langs[l][T_LANG_CODE]) == 0)
			return l;
	return -1;
}

/*
 * RFC 9110 12.5.4: "de-CH;q=0.9, en;q=0.8, *;q=0.1".  The primary subtag
 * picks the language, the highest q wins, the first of equals wins.
 * English when nothing matches.
 */
enum bs_lang
text_negotiate(const char *al)
{
	const char	*p, *end, *semi, *q;
	char		 tag[9];
	size_t		 n;
	double		 best = 0.0, w;
	int		 l, pick = LANG_EN, count = 0;

	if (al == NULL)
		return LANG_EN;
	for (p = al; *p != '\0' && count < 32; p = *end == '\0' ? end : end + 1,
	    count++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		for (n = 0; p + n < end && n < sizeof(tag) - 1 &&
		    isalpha((unsigned char)p[n]); n++)
			tag[n] = p[n];
		tag[n] = '\0';
		w = 1.0;
		if ((semi = memchr(p, ';', (size_t)(end - p))) != NULL &&
		    (q = strstr(semi, "q=")) != NULL && q < end)
			w = strtod(q + 2, NULL);
		if (w <= best || (l = text_lang_parse(tag)) == -1)
			continue;
		best = w;
		pick = l;
	}
	return (enum bs_lang)pick;
}
