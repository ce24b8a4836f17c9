// telegram-test-api@4.2.1 with MinHu's compatibility shim, for the end-to-end tests.
//
// node shim.js [PORT]   listens on 127.0.0.1 (port 0 picks a free one) and prints one line
//                       `{"port": N}` when ready.
//
// The published emulator trips up aiogram and python-telegram-bot in the ways DESIGN.md lists;
// each fix below names the defect it repairs. Everything else (storage, the client routes that
// play the people) is the package's own. Extra control routes, under /_shim/:
//   POST /_shim/fail {method, count, error_code?, description?, retry_after?}
//        the next `count` calls of bot method `method` fail like Telegram does (default: 429
//        with parameters.retry_after), so delivery tests can exercise retries.
//   GET  /_shim/state   commands set with setMyCommands (default scope), every menu call, the
//                       webhook, failed webhook deliveries.
'use strict';

const express = require('express');
const axios = require('axios');
const TelegramServer = require('telegram-test-api');

const BOT = { id: 666, is_bot: true, first_name: 'MinHu Test', username: 'minhu_test_bot' };

const server = new TelegramServer({ host: '127.0.0.1', port: 9000, storeTimeout: 3600 });
server.config.port = Number(process.argv[2] || 0);
const state = { commands: {}, menus: {}, menuCalls: [], failures: {}, webhookErrors: 0 };

function apiError(res, code, description, parameters) {
  const body = { ok: false, error_code: code, description };
  if (parameters) body.parameters = parameters;
  res.status(code).json(body);
}

// Defect: reply dates are in milliseconds. Bot API dates are Unix seconds.
const addBotMessage = server.addBotMessage.bind(server);
server.addBotMessage = (raw, token) => {
  const message = addBotMessage(raw, token);
  message.date = Math.floor(message.date / 1000);
  message.from = BOT;
  return message;
};

// Defect: callback queries lose chat_instance (required by both frameworks).
const formatUpdate = TelegramServer.formatUpdate;
TelegramServer.formatUpdate = (update) => {
  const formatted = formatUpdate(update);
  if (formatted.callback_query) {
    const chat = (update.callbackQuery.message || {}).chat || update.callbackQuery.from;
    formatted.callback_query.chat_instance = update.callbackQuery.chat_instance || String(chat.id);
  }
  return formatted;
};

// Defects: a failed webhook delivery throws out of an un-awaited promise and kills the process,
// and the secret token is never sent. Here a failed delivery is retried later, as Telegram does.
server.addUserUpdate = async function addUserUpdate(update) {
  update.updateId = this.updateId++;
  const webhook = this.webhooks[update.botToken];
  if (!webhook) {
    this.storage.userMessages.push(update);
    this.emit('shim:update');
    return;
  }
  deliver(webhook, update, 0);
};

async function deliver(webhook, update, attempt) {
  const headers = {};
  if (webhook.secret_token) headers['X-Telegram-Bot-Api-Secret-Token'] = webhook.secret_token;
  try {
    await axios.post(webhook.url, TelegramServer.formatUpdate(update), { headers, timeout: 60000 });
  } catch (error) {
    state.webhookErrors += 1;
    if (attempt < 5) setTimeout(() => deliver(webhook, update, attempt + 1), 200 * 2 ** attempt);
  }
}

// The shim's routes go in front of the package's own, which stay as they are behind them.
const app = express();
app.use(express.json({ limit: '20mb' }));
app.use(express.urlencoded({ extended: true, limit: '20mb' }));
app.use(multipartFields);

app.post('/_shim/fail', (req, res) => {
  const { method, count = 1 } = req.body;
  state.failures[method] = { ...req.body, remaining: Number(count) };
  res.json({ ok: true });
});
app.get('/_shim/state', (_req, res) => {
  res.json({ commands: state.commands, menuCalls: state.menuCalls, webhooks: server.webhooks,
    webhookErrors: state.webhookErrors });
});

// Injected failures come before any method runs.
app.all('/bot:token/:method', (req, res, next) => {
  const failure = state.failures[req.params.method];
  if (!failure || failure.remaining <= 0) return next();
  failure.remaining -= 1;
  const code = Number(failure.error_code || 429);
  if (code === 429) {
    const seconds = Number(failure.retry_after || 1);
    return apiError(res, 429, `Too Many Requests: retry after ${seconds}`, { retry_after: seconds });
  }
  return apiError(res, code, failure.description || 'Bad Request: injected failure');
});

// Defect: getMe lacks is_bot.
app.all('/bot:token/getMe', (_req, res) => res.json({ ok: true, result: BOT }));

// Defect: getUpdates ignores timeout (the bots poll in a busy loop) and offset. Here it waits up
// to `timeout` seconds for an update, and drops updates below `offset` as confirmed.
app.all('/bot:token/getUpdates', (req, res) => {
  const params = { ...req.query, ...req.body };
  const token = req.params.token;
  if (server.webhooks[token]) {
    return apiError(res, 409, 'Conflict: can\'t use getUpdates method while webhook is active');
  }
  const offset = Number(params.offset || 0);
  const limit = Number(params.limit || 100);
  const timeout = Math.min(Number(params.timeout || 0), 50);
  const pending = () => {
    server.storage.userMessages = server.storage.userMessages.filter(
      (u) => u.botToken !== token || u.updateId >= offset,
    );
    return server.storage.userMessages.filter((u) => u.botToken === token).slice(0, limit);
  };
  const answer = () => {
    cleanup();
    if (!res.headersSent) res.json({ ok: true, result: pending().map(TelegramServer.formatUpdate) });
  };
  const onUpdate = () => { if (pending().length) answer(); };
  const timer = setTimeout(answer, timeout * 1000);
  const cleanup = () => { clearTimeout(timer); server.off('shim:update', onUpdate); };
  if (pending().length || timeout <= 0) return answer();
  server.on('shim:update', onUpdate);
  res.on('close', cleanup);
});

// Defect: edits and callback answers return null; Telegram returns the message or true.
app.all('/bot:token/answerCallbackQuery', (_req, res) => res.json({ ok: true, result: true }));
for (const method of ['editMessageText', 'editMessageReplyMarkup']) {
  app.all(`/bot:token/${method}`, (req, res) => {
    const body = TelegramServer.normalizeMessage({ ...req.query, ...req.body });
    const found = server.storage.botMessages.find((u) => String(u.messageId) === String(body.message_id)
      && String(u.message.chat_id) === String(body.chat_id));
    if (!found) return apiError(res, 400, 'Bad Request: message to edit not found');
    found.message = { ...found.message, ...body };
    res.json({ ok: true, result: { ...found.message, message_id: found.messageId,
      date: Math.floor(found.time / 1000), chat: { id: Number(body.chat_id), type: 'private' } } });
  });
}

// Methods the package lacks: the command menu, the webhook's secret, photos, albums and
// locations (stored as messages with a `photo` or `location` field, so the people's client sees
// them).
// Menus per bot, scope and language, as Telegram keeps them: a scope is a BotCommandScope
// object (default when absent); getMyCommands answers for exactly that scope and language.
// /_shim/state's `commands` shows the default scope by language; `menuCalls` logs every call.
const SCOPE_TYPES = new Set(['default', 'all_private_chats', 'all_group_chats',
  'all_chat_administrators', 'chat', 'chat_administrators', 'chat_member']);
function parsed(value) { return typeof value === 'string' ? JSON.parse(value) : value; }
function menuScope(res, body) {
  const scope = parsed(body.scope) || { type: 'default' };
  if (!SCOPE_TYPES.has(scope.type)) return apiError(res, 400, 'Bad Request: unsupported scope type');
  if (scope.type.startsWith('chat') && scope.chat_id === undefined) {
    return apiError(res, 400, 'Bad Request: chat_id is required');
  }
  const parts = [scope.type];
  if (scope.chat_id !== undefined) parts.push(String(scope.chat_id));
  if (scope.user_id !== undefined) parts.push(String(scope.user_id));
  return parts.join(':');
}
function menusOf(token) { state.menus[token] = state.menus[token] || {}; return state.menus[token]; }
for (const method of ['setMyCommands', 'getMyCommands', 'deleteMyCommands']) {
  app.all(`/bot:token/${method}`, (req, res) => {
    const body = { ...req.query, ...req.body };
    const scope = menuScope(res, body);
    if (scope === undefined) return undefined;
    const language = body.language_code || '';
    const token = req.params.token;
    const menus = menusOf(token);
    state.menuCalls.push({ token, method, scope, language_code: language });
    if (method === 'getMyCommands') {
      return res.json({ ok: true, result: (menus[scope] || {})[language] || [] });
    }
    if (method === 'deleteMyCommands') {
      delete (menus[scope] || {})[language];
    } else {
      const commands = parsed(body.commands);
      if (!Array.isArray(commands) || commands.length > 100) {
        return apiError(res, 400, 'Bad Request: commands must be a list of at most 100');
      }
      menus[scope] = { ...(menus[scope] || {}), [language]: commands };
      if (scope === 'default') state.commands[language] = commands;
    }
    return res.json({ ok: true, result: true });
  });
}
app.all('/bot:token/setWebhook', (req, res) => {
  const body = { ...req.query, ...req.body };
  if (!body.url) return apiError(res, 400, 'Bad Request: url is empty');
  server.setWebhook(body, req.params.token);
  res.json({ ok: true, result: true, description: 'Webhook was set' });
});
app.all('/bot:token/getWebhookInfo', (req, res) => {
  const webhook = server.webhooks[req.params.token] || {};
  res.json({ ok: true, result: { url: webhook.url || '', has_custom_certificate: false,
    pending_update_count: 0 } });
});
// A photo sent by file id keeps that id (Telegram sends the very photo it holds); an uploaded
// one gets a new id, as on Telegram.
function photoSizes(photo, messageId, index) {
  const fileId = typeof photo === 'string' && photo && !photo.startsWith('attach://')
    ? photo : `p${messageId}-${index}`;
  return [{ file_id: fileId, file_unique_id: fileId, width: 800, height: 600 }];
}
function addPhotoMessage(body, photo, index, token) {
  const message = server.addBotMessage({ chat_id: body.chat_id, text: body.caption || '',
    photo: true, reply_markup: body.reply_markup }, token);
  message.photo = photoSizes(photo, message.message_id, index);
  delete message.text;
  message.caption = body.caption || '';
  const stored = server.storage.botMessages.find((u) => u.messageId === message.message_id);
  if (stored) stored.message.photo = message.photo;
  return message;
}
app.all('/bot:token/sendPhoto', (req, res) => {
  const body = { ...req.query, ...req.body };
  res.json({ ok: true, result: addPhotoMessage(body, body.photo, 0, req.params.token) });
});
app.all('/bot:token/sendMediaGroup', (req, res) => {
  const body = { ...req.query, ...req.body };
  const media = typeof body.media === 'string' ? JSON.parse(body.media) : body.media;
  if (!Array.isArray(media) || media.length < 2 || media.length > 10) {
    return apiError(res, 400, 'Bad Request: wrong number of media in the album');
  }
  const messages = media.map((item, index) => addPhotoMessage(
    { chat_id: body.chat_id, caption: item.caption }, item.media, index, req.params.token));
  res.json({ ok: true, result: messages });
});
app.all('/bot:token/sendLocation', (req, res) => {
  const body = { ...req.query, ...req.body };
  const location = { latitude: Number(body.latitude), longitude: Number(body.longitude) };
  const message = server.addBotMessage({ chat_id: body.chat_id, text: '', location,
    reply_markup: body.reply_markup }, req.params.token);
  delete message.text;
  message.location = location;
  res.json({ ok: true, result: message });
});
// getFile and the download address: every file is the same small PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
app.all('/bot:token/getFile', (req, res) => {
  const body = { ...req.query, ...req.body };
  if (!body.file_id) return apiError(res, 400, 'Bad Request: invalid file_id');
  res.json({ ok: true, result: { file_id: body.file_id, file_unique_id: body.file_id,
    file_size: PNG.length, file_path: `photos/${body.file_id}.png` } });
});
app.get('/file/bot:token/*', (_req, res) => res.type('png').send(PNG));

// Defect: unknown methods answer HTTP 500 in a non-Bot-API shape. Telegram says 404 Not Found.
const PACKAGE_METHODS = new Set(['deleteMessage', 'getUpdates', 'answerCallbackQuery', 'getMe',
  'editMessageText', 'editMessageReplyMarkup', 'sendMessage', 'setWebhook', 'deleteWebhook']);
app.all('/bot:token/:method', (req, res, next) => {
  if (PACKAGE_METHODS.has(req.params.method)) return next();
  apiError(res, 404, 'Not Found');
});

app.use(server.webServer);

// Photos go up as multipart/form-data; only their text fields matter to the emulator.
function multipartFields(req, _res, next) {
  const type = req.headers['content-type'] || '';
  const match = /^multipart\/form-data;.*boundary=(?:"([^"]+)"|([^;]+))/i.exec(type);
  if (!match) return next();
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const boundary = `--${match[1] || match[2]}`;
    const text = Buffer.concat(chunks).toString('latin1');
    req.body = {};
    for (const part of text.split(boundary)) {
      const head = /name="([^"]+)"(; filename="[^"]*")?/.exec(part);
      if (!head || head[2]) continue;
      const value = part.slice(part.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '');
      req.body[head[1]] = Buffer.from(value, 'latin1').toString('utf8');
    }
    req._body = true;
    next();
  });
}

server.webServer = app;
process.on('unhandledRejection', (error) => console.error('emulator: unhandled rejection', error));
server.start().then(() => {
  console.log(JSON.stringify({ port: server.server.address().port }));
});
