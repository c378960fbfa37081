// Package syslog forwards Stockade alerts, storm summaries, test messages
// and (when auditLoggingEnabled) audit events to a syslog receiver as RFC
// 5424 messages.
//
// What the receiver expects: over TCP (optionally TLS) each message framed
// by octet counting (RFC 6587: "<length> <message>"), over UDP one message
// per datagram (RFC 5426). A message is
//
//	<PRI>1 TIMESTAMP HOSTNAME stockade - MSGID - MSG
//
// with PRI = facility*8 + severity (facility LOCAL0 … LOCAL7, LOCAL4 by
// default as in ACS; severity from the policy's), MSGID one of alert,
// audit, summary or test, and MSG in one of two formats: LEGACY, key="value"
// pairs, or CEF (ArcSight Common Event Format:
// CEF:0|Stockade|Stockade|version|signature|name|0-10|extensions). Messages
// longer than maxMessageSize (2048 bytes over UDP, 64 KiB over TCP by
// default) are cut, the violation text first.
//
// The one idea: one connection per notifier, shared by concurrent sends
// under a lock so frames never interleave, checked for a peer that hung up
// before each write (a write into a half-closed TCP connection would be
// lost silently) and re-dialed once when a write fails.
package syslog
