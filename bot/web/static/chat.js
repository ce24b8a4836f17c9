// The chat page: send text, commands, button presses and locations to /chat/send and show the
// replies; poll /chat/inbox for messages other people's actions queued for this chat.
"use strict";
(function () {
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const csrf = document.querySelector("meta[name=csrf]").content;
  const POLL_MS = 2000;

  function show(body, who) {
    const box = document.createElement("div");
    box.className = "msg " + who;
    box.textContent = body.text || "";
    // Evidence: the photos and the place that came with the message.
    for (const url of body.photos || []) {
      const link = document.createElement("a");
      link.href = url;
      link.target = "_blank";
      const img = document.createElement("img");
      img.src = url;
      img.className = "evidence";
      img.alt = log.dataset.photo;
      link.appendChild(img);
      box.appendChild(link);
    }
    if (body.location) {
      const [lat, lon] = body.location.map(Number);
      const place = document.createElement("a");
      place.className = "place";
      place.rel = "noopener noreferrer";
      place.target = "_blank";
      place.href = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=17/${lat}/${lon}`;
      place.textContent = `📍 ${lat.toFixed(5)}, ${lon.toFixed(5)}`;
      box.appendChild(place);
    }
    if (body.image) {
      const img = document.createElement("img");
      img.src = body.image;
      img.alt = log.dataset.chart;
      box.appendChild(img);
    }
    // A question for a phone number: the page's text field takes it; one button skips.
    if (body.contact) {
      const line = document.createElement("div");
      line.className = "buttons";
      const skip = document.createElement("button");
      skip.type = "button";
      skip.className = "skip-phone";
      skip.textContent = body.contact.skip;
      skip.addEventListener("click", () => send({ text: body.contact.skip }, body.contact.skip));
      line.appendChild(skip);
      box.appendChild(line);
      input.type = "tel";
      input.focus();
    } else if (who !== "me") {
      input.type = "text";
    }
    for (const row of body.buttons || []) {
      const line = document.createElement("div");
      line.className = "buttons";
      for (const b of row) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.text;
        button.addEventListener("click", () => send({ button: b.data }, b.text));
        line.appendChild(button);
      }
      box.appendChild(line);
    }
    log.appendChild(box);
    log.scrollTop = log.scrollHeight;
  }

  async function send(payload, echo) {
    if (echo) show({ text: echo }, "me");
    // A random id per message: a request sent twice is handled once (processed_updates).
    payload.id = Math.floor(Math.random() * 2 ** 52) + 1;
    const response = await fetch("/chat/send", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload),
      credentials: "same-origin",
    });
    const answer = await response.json();
    if (answer.error) {
      show({ text: answer.error }, "error");
      return;
    }
    for (const reply of answer.replies) show(reply, "bot");
  }

  // The command menu: the speaker's role's commands; a new one comes through the inbox when
  // their role or language changes (/join, /lang).
  const menu = document.getElementById("menu");
  function command(button) {
    button.addEventListener("click", () => send({ text: "/" + button.dataset.command }, "/" + button.dataset.command));
  }
  function setMenu(commands) {
    menu.replaceChildren();
    for (const [name, text] of commands) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.command = name;
      button.title = text;
      button.textContent = "/" + name + " " + text;
      command(button);
      menu.appendChild(button);
    }
  }
  for (const button of menu.querySelectorAll("button")) command(button);

  async function poll() {
    try {
      const response = await fetch("/chat/inbox", { credentials: "same-origin" });
      const answer = await response.json();
      for (const message of answer.messages) {
        if (message.menu) setMenu(message.menu.commands);
        else show(message, "push");
      }
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text }, text);
  });

  const where = document.getElementById("location");
  where.addEventListener("click", () => {
    navigator.geolocation.getCurrentPosition(
      (p) => send({ latitude: p.coords.latitude, longitude: p.coords.longitude }, "📍"),
      () => show({ text: where.dataset.denied }, "error"),
    );
  });
  const photo = document.getElementById("photo");
  photo.addEventListener("change", async () => {
    if (!photo.files.length) return;
    const body = new FormData();
    body.append("photo", photo.files[0]);
    body.append("caption", input.value.trim());
    input.value = "";
    show({ text: "🖼 " + photo.files[0].name }, "me");
    const response = await fetch("/chat/photo", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
      body,
      credentials: "same-origin",
    });
    photo.value = "";
    const answer = await response.json();
    if (answer.error) {
      show({ text: answer.error }, "error");
      return;
    }
    for (const reply of answer.replies) show(reply, "bot");
  });
  poll();
})();
