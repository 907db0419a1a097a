// The host page's own script: uses the command queue before consult.js has loaded.
window.Consult = window.Consult || function () { (Consult.q = Consult.q || []).push(arguments); };
Consult('on', 'ready', function (detail) { window.consultReady = detail; });
Consult('on', 'unread', function (detail) { window.consultUnread = detail.count; });
Consult('on', 'message', function (m) { (window.consultMessages = window.consultMessages || []).push(m); });
if (location.hash === '#open') Consult('open', '');
