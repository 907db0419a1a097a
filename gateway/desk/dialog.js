// Consult agent desk: modal dialogs on the native <dialog> element. `showModal()` makes the rest
// of the page inert (so focus stays inside), Escape cancels, and focus returns to where it was.
"use strict";

// Opens a dialog built by `fill(body, done)`; resolves with what `done(value)` was given, or
// null when cancelled. `ok` names the confirming button (omit it for a dialog with only "close").
function openDialog({ title, ok, danger, fill }) {
  return new Promise((resolve) => {
    const back = document.activeElement;
    const dlg = document.createElement("dialog");
    dlg.className = "dialog";
    const id = "dlg-" + Math.random().toString(36).slice(2, 8);
    dlg.setAttribute("aria-labelledby", id);
    const form = document.createElement("form");
    form.method = "dialog";
    const h = document.createElement("h2");
    h.id = id;
    h.textContent = title;
    const body = document.createElement("div");
    body.className = "dialog-body";
    const bar = document.createElement("div");
    bar.className = "dialog-bar";
    let value = null;
    let finished = false;
    const done = (v) => {
      value = v;
      finished = true;
      dlg.close();
    };
    const validate = fill(body, done) || (() => true);
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "ghost";
    cancel.textContent = ok ? t("cancel") : t("close.x");
    cancel.addEventListener("click", () => dlg.close());
    bar.append(cancel);
    if (ok) {
      const confirm = document.createElement("button");
      confirm.type = "submit";
      confirm.className = danger ? "danger-solid" : "";
      confirm.textContent = ok;
      bar.append(confirm);
    }
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const v = validate();
      if (v !== false && v !== undefined && v !== null) done(v);
    });
    form.append(h, body, bar);
    dlg.append(form);
    dlg.addEventListener("close", () => {
      dlg.remove();
      if (back && back.isConnected) back.focus();
      resolve(finished ? value : null);
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = body.querySelector("input, select, textarea, button") || bar.lastElementChild;
    if (first) first.focus();
  });
}

function confirmDialog(title, text, ok, danger) {
  return openDialog({
    title,
    ok,
    danger,
    fill(body) {
      body.append(Object.assign(document.createElement("p"), { textContent: text }));
      return () => true;
    },
  });
}
