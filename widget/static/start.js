// Loads the chat app. External (not inline) because the frame's CSP is script-src 'self'.
import init from "./chat.js";
init({ module_or_path: new URL("chat_bg.wasm", import.meta.url) });
