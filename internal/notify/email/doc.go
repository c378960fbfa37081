// Package email sends Stockade alerts, test messages and storm summaries by
// email over SMTP, and mail of any kind for later users (scheduled reports)
// through Notifier.SendMail.
//
// What the server expects: a TCP connection to server (host:port); TLS
// either at once (implicit TLS, port 465, or a port whose server stays
// silent until the client speaks TLS) or after STARTTLS; then AUTH PLAIN or
// AUTH LOGIN unless allowUnauthenticatedSmtp; then MAIL FROM the sender,
// RCPT TO each recipient and DATA with a multipart/alternative message
// (text/plain and text/html, both quoted-printable UTF-8).
//
// The one idea: credentials never cross the wire in clear text. With
// disableTLS the ACS meaning is kept — startTLSAuthMethod PLAIN or LOGIN
// still upgrades with STARTTLS (required), DISABLED sends in plain text and
// then only without authentication; New refuses a configuration that would
// log in without TLS, and the authenticators refuse a connection that is
// not TLS as a second guard.
//
// The recipient of an alert is the deployment's (or its namespace's)
// annotation named by the notifier's labelKey, else labelDefault (where
// ACS keeps it), else email.recipient. Message-ID is <m.ID@stockade>, so
// a retried delivery is recognisably the same mail.
package email
