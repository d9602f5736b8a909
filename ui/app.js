// termbridge web viewer: lists the sessions, shows one live in xterm.js fed
// by the session stream WebSocket (protocol: docs/viewer.md), lets a token
// with control scope take over the keyboard, and shows the command timeline.
//
// No framework and no build step. Everything that comes from the server is
// put in the DOM with textContent (never innerHTML). The token lives in
// sessionStorage only; it is sent as a Bearer header to the API and as the
// first message on the WebSocket, never in a URL.
(function () {
  'use strict';

  const TOKEN_KEY = 'termbridge.token';
  const API = '/api/v1';
  const POLL_MS = 1000;

  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ state
  const state = {
    token: null,
    sessions: [],          // last GET /api/v1/sessions
    sessionsError: null,
    selected: null,        // id of the session being watched
    session: null,         // that session's object (hello / session events)
    commands: new Map(),   // command id -> command (timeline)
    detailId: null,        // command whose output is shown
    ws: null,
    stream: 'idle',        // idle | connecting | authenticating | live | closed
    snapshots: 0,          // snapshots written (the first and every resync)
    canControl: false,
    control: false,
    closedReason: null,
    reconnectDelay: 500,
    reconnectTimer: null,
    pollTimer: null,
    lastError: null,
  };

  // ------------------------------------------------------------------ DOM helpers
  // el('li', {class: 'x', text: 'y', data: {id: 1}}, [children]) — text only.
  function el(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      if (props.class) node.className = props.class;
      if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
      if (props.title) node.title = String(props.title);
      if (props.data) {
        for (const [k, v] of Object.entries(props.data)) node.dataset[k] = String(v);
      }
      if (props.attrs) {
        for (const [k, v] of Object.entries(props.attrs)) node.setAttribute(k, String(v));
      }
    }
    for (const child of children || []) {
      if (child) node.appendChild(child);
    }
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function formatDuration(ms) {
    if (ms === null || ms === undefined || isNaN(ms)) return '';
    if (ms < 1000) return Math.round(ms) + ' ms';
    const s = ms / 1000;
    if (s < 60) return (s < 10 ? s.toFixed(1) : Math.round(s)) + ' s';
    const m = Math.floor(s / 60);
    return m + ' min ' + Math.round(s - m * 60) + ' s';
  }

  function formatTime(iso) {
    const t = Date.parse(iso);
    if (isNaN(t)) return '';
    return new Date(t).toLocaleTimeString();
  }

  // A command (docs/viewer.md): {id, command, status, exit_code,
  // accepted_at, duration_ms, prompt_hint}.
  function commandStart(c) {
    return c.accepted_at || null;
  }

  // What an awaiting command waits for: its hint, or just `true`.
  function commandAwaiting(c) {
    return c.prompt_hint || c.status === 'awaiting_input';
  }

  // `value`: true or a hint (`password`, `yes_no`, `pager`, `other`).
  function awaitingText(value, hint) {
    if (!value && !hint) return null;
    const kind = typeof value === 'string' ? value : hint;
    return kind ? 'awaiting input (' + String(kind).replace('_', '/') + ')' : 'awaiting input';
  }

  // ------------------------------------------------------------------ token
  function takeTokenFromFragment() {
    // `#token=...` (the link `termbridge serve` prints): fragments never reach
    // the server; move it to sessionStorage and out of the address bar.
    const hash = window.location.hash.replace(/^#/, '');
    if (!hash) return;
    const params = new URLSearchParams(hash);
    const token = params.get('token');
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
      params.delete('token');
      const rest = params.toString();
      history.replaceState(null, '', window.location.pathname + window.location.search + (rest ? '#' + rest : ''));
    }
  }

  function setToken(token) {
    state.token = token;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  }

  async function api(path, options) {
    const response = await fetch(API + path, Object.assign({
      headers: { Authorization: 'Bearer ' + state.token, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    }, options || {}));
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (response.status === 401) {
      loggedOut('The token was refused (401). Paste a valid token.');
      throw new Error('unauthorized');
    }
    if (!response.ok) {
      const message = body && body.error ? body.error.message : response.statusText;
      throw new Error(response.status + ': ' + message);
    }
    return body;
  }

  // ------------------------------------------------------------------ login
  function showLogin(message) {
    show($('login'), true);
    show($('app'), false);
    show($('logout'), false);
    $('login-error').textContent = message || '';
    $('server-status').textContent = '';
    $('token-input').value = '';
    $('token-input').focus();
  }

  function loggedOut(message) {
    setToken(null);
    stopPolling();
    closeStream();
    state.selected = null;
    state.commands = new Map();
    show($('session-view'), false);
    show($('placeholder'), true);
    show($('command-detail'), false);
    renderTimeline();
    showLogin(message);
  }

  async function login(token) {
    setToken(token);
    show($('login'), false);
    show($('app'), true);
    show($('logout'), true);
    startPolling();
    if (state.selected) openSession(state.selected);
  }

  // ------------------------------------------------------------------ session list
  function startPolling() {
    stopPolling();
    const tick = async () => {
      await refreshSessions();
      if (state.token) state.pollTimer = setTimeout(tick, POLL_MS);
    };
    tick();
  }

  function stopPolling() {
    if (state.pollTimer) clearTimeout(state.pollTimer);
    state.pollTimer = null;
  }

  async function refreshSessions() {
    try {
      const body = await api('/sessions');
      state.sessions = (body && body.sessions) || [];
      state.sessionsError = null;
      $('server-status').textContent = 'connected to ' + window.location.host;
    } catch (e) {
      if (!state.token) return;
      state.sessionsError = e.message;
      $('server-status').textContent = 'cannot list sessions: ' + e.message;
    }
    renderSessions();
    renderTimeline(); // running durations move on
    renderBanner();
  }

  function sessionSummary(s) {
    const parts = [];
    const last = s.last_command;
    if (s.running_command) {
      parts.push(el('div', { class: 'cmd running', text: '$ ' + s.running_command, title: s.running_command }));
    } else if (last) {
      const hasExit = last.exit_code !== null && last.exit_code !== undefined;
      parts.push(el('div', { class: 'cmd-line' }, [
        el('span', { class: 'cmd', text: '$ ' + last.command, title: last.command + ' (' + last.status + ')' }),
        hasExit ? el('span', { class: 'badge exit ' + (last.exit_code ? 'failed' : 'ok'), text: 'exit ' + last.exit_code }) : null,
      ]));
    }
    return parts;
  }

  function renderSessions() {
    const list = $('session-list');
    const items = [];
    for (const s of state.sessions) {
      const status = s.status === 'exited'
        ? 'exited' + (s.exit_code === null || s.exit_code === undefined ? '' : ' (' + s.exit_code + ')')
        : s.status;
      const badges = [el('span', { class: 'badge status-' + s.status, text: status })];
      const last = s.last_command;
      const lastAwaiting = last && last.status === 'awaiting_input' ? commandAwaiting(last) : null;
      if (s.prompt_hint || lastAwaiting) {
        badges.push(el('span', { class: 'badge awaiting', text: awaitingText(lastAwaiting, s.prompt_hint) }));
      } else if (s.running_command) {
        badges.push(el('span', { class: 'badge busy', text: 'busy' }));
      }
      if (s.read_only) badges.push(el('span', { class: 'badge', text: 'read-only' }));
      const item = el('li', {
        class: 'session' + (s.id === state.selected ? ' selected' : ''),
        data: { sessionId: s.id },
        attrs: { tabindex: 0, role: 'button' },
        title: (s.command || []).join(' '),
      }, [
        el('div', { class: 'session-head' }, [
          el('span', { class: 'session-name', text: s.name || s.id }),
          el('span', { class: 'muted', text: s.kind + ' ' + s.cols + '×' + s.rows }),
        ]),
        el('div', { class: 'badges' }, badges),
      ].concat(sessionSummary(s)));
      items.push(item);
    }
    list.replaceChildren(...items);
    show($('no-sessions'), state.sessions.length === 0 && !state.sessionsError);
  }

  function onSessionListClick(event) {
    const item = event.target.closest('li.session');
    if (item) openSession(item.dataset.sessionId);
  }

  function onSessionListKey(event) {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onSessionListClick(event);
    }
  }

  // ------------------------------------------------------------------ terminal
  let term = null;
  let fit = null;

  // xterm.js 5.5's DOM renderer styles itself with <style> elements it
  // creates (cell size, theme colors), which the page's CSP (`style-src
  // 'self'`, no 'unsafe-inline') blocks. This page creates no <style> of its
  // own, so every one asked for is xterm's: hand it an inert element whose
  // text goes into a constructed stylesheet instead (CSP does not govern
  // those). Without adoptedStyleSheets support it is left alone.
  function routeInlineStylesToConstructedSheets() {
    if (!('adoptedStyleSheets' in Document.prototype) || typeof CSSStyleSheet !== 'function') return;
    try {
      new CSSStyleSheet().replaceSync('');
    } catch (_) {
      return;
    }
    const create = document.createElement;
    document.createElement = function (tagName, options) {
      if (String(tagName).toLowerCase() !== 'style') return create.call(this, tagName, options);
      const sheet = new CSSStyleSheet();
      document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
      const standIn = create.call(this, 'template');
      let text = '';
      Object.defineProperty(standIn, 'textContent', {
        get: () => text,
        set: (value) => {
          text = value === null || value === undefined ? '' : String(value);
          sheet.replaceSync(text);
        },
      });
      return standIn;
    };
  }

  function createTerminal() {
    routeInlineStylesToConstructedSheets();
    term = new window.Terminal({
      cols: 80,
      rows: 24,
      convertEol: false,
      cursorBlink: false,
      disableStdin: true,
      fontFamily: '"DejaVu Sans Mono", "Menlo", "Consolas", monospace',
      fontSize: BASE_FONT,
      scrollback: 5000,
      allowProposedApi: false,
      theme: { background: '#111417', foreground: '#d8dde3' },
    });
    fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open($('terminal'));
    // The session answers terminal queries itself (its screen model replies
    // on the PTY); a viewer answering too would type the replies into the
    // program. Swallow the queries xterm.js would answer.
    const swallow = () => true;
    term.parser.registerCsiHandler({ final: 'n' }, swallow);                      // DSR, CPR
    term.parser.registerCsiHandler({ prefix: '?', final: 'n' }, swallow);         // DECXCPR
    term.parser.registerCsiHandler({ final: 'c' }, swallow);                      // DA1
    term.parser.registerCsiHandler({ prefix: '>', final: 'c' }, swallow);         // DA2
    term.parser.registerCsiHandler({ intermediates: '$', final: 'p' }, swallow);  // DECRQM
    term.parser.registerCsiHandler({ prefix: '?', intermediates: '$', final: 'p' }, swallow);
    term.parser.registerDcsHandler({ intermediates: '$', final: 'q' }, swallow);  // DECRQSS
    for (const ident of [4, 10, 11, 12]) {                                        // color queries
      term.parser.registerOscHandler(ident, (data) => data.includes('?'));
    }
    term.onData((data) => {
      if (state.control) send({ type: 'input', data: data });
    });
    new ResizeObserver(() => {
      if (state.control) followBrowserSize();
      else fitFont();
    }).observe($('terminal'));
  }

  function setTermSize(cols, rows) {
    if (!cols || !rows) return;
    if (term.cols !== cols || term.rows !== rows) term.resize(cols, rows);
    $('session-size').textContent = cols + '×' + rows;
    fitFont();
  }

  // Watching, the terminal keeps the session's size: a session wider or
  // taller than the space gets a smaller font (down to MIN_FONT) rather
  // than scroll bars. In control the session takes the space's size instead.
  const BASE_FONT = 14;
  const MIN_FONT = 8;
  const SCROLLBAR = 14;
  function fitFont() {
    if (!term || state.control || !term.element) return;
    const screen = term.element.querySelector('.xterm-screen');
    const box = $('terminal');
    if (!screen || !screen.offsetWidth || !box.clientWidth) return;
    const style = getComputedStyle(box);
    const width = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - SCROLLBAR;
    const height = box.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    const current = term.options.fontSize;
    const baseWidth = screen.offsetWidth * BASE_FONT / current;
    const baseHeight = screen.offsetHeight * BASE_FONT / current;
    const ratio = Math.min(1, width / baseWidth, height / baseHeight);
    const size = Math.max(MIN_FONT, Math.floor(BASE_FONT * ratio * 2) / 2);
    if (size !== current) term.options.fontSize = size;
  }

  // In control, the session takes the size of the browser's terminal area.
  function followBrowserSize() {
    if (!state.control || !term) return;
    const dims = fit.proposeDimensions();
    if (!dims || !dims.cols || !dims.rows) return;
    const cols = Math.max(2, dims.cols);
    const rows = Math.max(1, dims.rows);
    if (cols === term.cols && rows === term.rows) return;
    setTermSize(cols, rows);
    send({ type: 'resize', cols: cols, rows: rows });
  }

  function bufferText() {
    if (!term) return '';
    const buffer = term.buffer.active;
    const lines = [];
    for (let i = 0; i < buffer.length; i++) {
      const line = buffer.getLine(i);
      lines.push(line ? line.translateToString(true) : '');
    }
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n');
  }

  // ------------------------------------------------------------------ stream
  function streamUrl(id) {
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    return scheme + '//' + window.location.host + API + '/sessions/' + encodeURIComponent(id) + '/stream';
  }

  function send(message) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  function setStream(value) {
    state.stream = value;
    const badge = $('stream-state');
    const labels = {
      idle: '',
      connecting: 'connecting…',
      authenticating: 'connecting…',
      live: 'live',
      closed: 'disconnected',
    };
    badge.textContent = labels[value] || value;
    badge.className = 'badge stream-' + value;
    renderControl();
  }

  function closeStream() {
    if (state.reconnectTimer) clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (state.ws) {
      const ws = state.ws;
      state.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000);
      } catch (_) { /* already closed */ }
    }
    state.control = false;
    state.canControl = false;
    setStream('idle');
  }

  function openSession(id) {
    closeStream();
    state.selected = id;
    state.session = state.sessions.find((s) => s.id === id) || null;
    state.commands = new Map();
    state.detailId = null;
    state.closedReason = null;
    state.snapshots = 0;
    state.reconnectDelay = 500;
    notice(null);
    show($('placeholder'), false);
    show($('session-view'), true);
    show($('command-detail'), false);
    if (!term) createTerminal();
    term.reset();
    renderSessions();
    renderSessionHead();
    renderTimeline();
    renderBanner();
    connect();
  }

  function connect() {
    const id = state.selected;
    if (!id || !state.token) return;
    setStream('connecting');
    let ws;
    try {
      ws = new WebSocket(streamUrl(id));
    } catch (e) {
      notice('Cannot open the stream: ' + e.message, 'error');
      return;
    }
    ws.binaryType = 'arraybuffer';
    state.ws = ws;
    ws.onopen = () => {
      setStream('authenticating');
      ws.send(JSON.stringify({ type: 'auth', token: state.token }));
    };
    ws.onmessage = (event) => {
      if (ws !== state.ws) return;
      if (typeof event.data !== 'string') {
        term.write(new Uint8Array(event.data));
        return;
      }
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      onMessage(message);
    };
    ws.onclose = (event) => {
      if (ws !== state.ws) return;
      state.ws = null;
      state.control = false;
      setStream('closed');
      renderControl();
      onClose(event.code, event.reason);
    };
  }

  function onClose(code, reason) {
    if (code === 4401) {
      loggedOut('The stream refused the token (' + (reason || 'unauthorized') + '). Paste a valid token.');
      return;
    }
    if (code === 4403) {
      notice('This token may not watch this session (forbidden).', 'error');
      return;
    }
    if (code === 4404) {
      notice('The session no longer exists.', 'error');
      return;
    }
    if (code === 4409) {
      notice('The session has too many viewers; close another viewer and choose it again.', 'error');
      return;
    }
    if (state.closedReason !== null) {
      notice('The session was closed' + (state.closedReason ? ': ' + state.closedReason : '') + '.', 'info');
      return;
    }
    // Anything else (server restarting, network): try again, backing off.
    const delay = state.reconnectDelay;
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 5000);
    notice('Stream lost' + (code ? ' (' + code + (reason ? ' ' + reason : '') + ')' : '') +
      '; reconnecting…', 'info');
    state.reconnectTimer = setTimeout(() => {
      state.reconnectTimer = null;
      if (state.selected && state.token && !state.ws) connect();
    }, delay);
  }

  function onMessage(message) {
    switch (message.type) {
      case 'hello':
        state.session = message.session || state.session;
        state.canControl = !!message.can_control;
        state.control = !!message.control;
        state.commands = new Map();
        for (const c of message.commands || []) state.commands.set(c.id, c);
        state.reconnectDelay = 500;
        notice(null);
        if (state.session) setTermSize(state.session.cols, state.session.rows);
        renderSessionHead();
        renderControl();
        renderTimeline();
        renderBanner();
        break;
      case 'snapshot':
        term.reset();
        setTermSize(message.cols, message.rows);
        term.write(message.data || '');
        state.snapshots += 1;
        setStream('live');
        if (message.resync) notice('The viewer fell behind; the screen was redrawn.', 'info', 3000);
        break;
      case 'session':
        state.session = message.session || state.session;
        if (state.session) {
          if (!state.control) setTermSize(state.session.cols, state.session.rows);
          else $('session-size').textContent = state.session.cols + '×' + state.session.rows;
          if (state.session.read_only) state.canControl = false;
        }
        renderSessionHead();
        renderControl();
        renderBanner();
        break;
      case 'command':
        if (message.command && message.command.id) {
          state.commands.set(message.command.id, message.command);
          renderTimeline();
          renderBanner();
          if (state.detailId === message.command.id && isFinished(message.command)) {
            showCommand(message.command.id);
          }
        }
        break;
      case 'control':
        state.control = !!message.control;
        term.options.disableStdin = !state.control;
        renderControl();
        renderBanner();
        if (state.control) {
          term.options.fontSize = BASE_FONT;
          term.focus();
          followBrowserSize();
        } else if (state.session) {
          setTermSize(state.session.cols, state.session.rows);
        }
        break;
      case 'error':
        notice((message.code ? message.code + ': ' : '') + (message.message || 'refused'), 'error', 5000);
        if (message.code === 'read_only' || message.code === 'forbidden') {
          state.control = false;
          renderControl();
        }
        break;
      case 'closed':
        state.closedReason = message.reason || '';
        break;
      default:
        break;
    }
  }

  // ------------------------------------------------------------------ control
  function renderControl() {
    const button = $('control');
    button.disabled = !(state.canControl && state.stream === 'live');
    button.textContent = state.control ? 'Give back control' : 'Take control';
    button.classList.toggle('active', state.control);
    button.title = state.canControl
      ? (state.control ? 'Stop typing into the session' : 'Type into the session; its size follows this window')
      : 'This token has read scope only, or the session is read-only';
    if (term) term.options.disableStdin = !state.control;
    $('terminal').classList.toggle('in-control', state.control);
  }

  function onControlClick() {
    send({ type: 'control', take: !state.control });
  }

  // ------------------------------------------------------------------ banner, head, notices
  function isFinished(c) {
    return c && c.status !== 'running' && c.status !== 'awaiting_input' && c.status !== 'queued';
  }

  function activeCommand() {
    let active = null;
    for (const c of state.commands.values()) {
      if (c.status === 'running' || c.status === 'awaiting_input') active = c;
    }
    return active;
  }

  function renderSessionHead() {
    const s = state.session;
    const title = $('session-title');
    if (!s) {
      title.textContent = state.selected || '';
      return;
    }
    const parts = [s.name || s.id];
    if (s.title) parts.push('— ' + s.title);
    if (s.status !== 'running') parts.push('(' + s.status + (s.exit_code !== null && s.exit_code !== undefined ? ' ' + s.exit_code : '') + ')');
    title.textContent = parts.join(' ');
    title.title = (s.cwd ? s.cwd + '  ' : '') + s.id;
  }

  function renderBanner() {
    const banner = $('banner');
    if (!state.selected) {
      show(banner, false);
      return;
    }
    const s = state.session || {};
    const active = activeCommand();
    const awaiting = active
      ? awaitingText(commandAwaiting(active), s.prompt_hint)
      : awaitingText(null, s.prompt_hint);
    const running = active ? active.command : s.running_command;
    let text = null;
    let cls = '';
    if (running) {
      const since = active && commandStart(active) ? Date.now() - Date.parse(commandStart(active)) : null;
      text = 'Agent command ' + (awaiting ? awaiting : 'running') + ': ' + running +
        (since !== null && since >= 0 ? ' (' + formatDuration(since) + ')' : '');
      cls = awaiting ? 'awaiting' : 'running';
    } else if (awaiting) {
      text = 'The session is ' + awaiting + '.';
      cls = 'awaiting';
    }
    if (state.control) {
      text = (text ? text + ' — ' : '') + 'You are in control: keystrokes go to the session.';
      cls = cls || 'control';
    }
    banner.textContent = text || '';
    banner.className = cls;
    show(banner, !!text);
  }

  let noticeTimer = null;
  function notice(text, kind, timeoutMs) {
    const node = $('notice');
    if (noticeTimer) clearTimeout(noticeTimer);
    noticeTimer = null;
    node.textContent = text || '';
    node.className = kind || '';
    show(node, !!text);
    if (text && timeoutMs) {
      noticeTimer = setTimeout(() => show(node, false), timeoutMs);
    }
  }

  // ------------------------------------------------------------------ timeline
  function commandDuration(c) {
    if (c.status === 'running' || c.status === 'awaiting_input') {
      const t = Date.parse(commandStart(c));
      if (!isNaN(t)) return Math.max(c.duration_ms || 0, Date.now() - t);
    }
    return c.duration_ms;
  }

  function renderTimeline() {
    const items = [];
    for (const c of state.commands.values()) {
      const hasExit = c.exit_code !== null && c.exit_code !== undefined;
      let statusText;
      if (c.status === 'completed' && hasExit) statusText = 'exit ' + c.exit_code;
      else if (c.status === 'awaiting_input') statusText = awaitingText(commandAwaiting(c));
      else statusText = String(c.status || '').replace('_', ' ') + (hasExit ? ' (' + c.exit_code + ')' : '');
      const failed = hasExit && c.exit_code !== 0;
      items.push(el('li', {
        class: 'command status-' + c.status + (failed ? ' failed' : '') + (c.id === state.detailId ? ' selected' : ''),
        data: { commandId: c.id, status: c.status, exitCode: c.exit_code === null || c.exit_code === undefined ? '' : c.exit_code },
        attrs: { tabindex: 0, role: 'button' },
        title: 'Show the output of this command',
      }, [
        el('div', { class: 'command-text', text: c.command }),
        el('div', { class: 'command-meta' }, [
          el('span', { class: 'badge command-status', text: statusText }),
          el('span', { class: 'muted', text: formatDuration(commandDuration(c)) }),
          el('span', { class: 'muted', text: formatTime(commandStart(c)) }),
        ]),
      ]));
    }
    items.reverse(); // newest first
    $('command-list').replaceChildren(...items);
    show($('no-commands'), items.length === 0);
  }

  function onTimelineClick(event) {
    const item = event.target.closest('li.command');
    if (item) showCommand(item.dataset.commandId);
  }

  function onTimelineKey(event) {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onTimelineClick(event);
    }
  }

  async function showCommand(commandId) {
    const sessionId = state.selected;
    state.detailId = commandId;
    renderTimeline();
    const head = $('command-detail-head');
    const out = $('command-output');
    show($('command-detail'), true);
    head.textContent = 'Loading…';
    out.textContent = '';
    try {
      const result = await api('/sessions/' + encodeURIComponent(sessionId) + '/commands/' +
        encodeURIComponent(commandId) + '?max_output_bytes=65536');
      if (state.selected !== sessionId || state.detailId !== commandId) return;
      const bits = ['$ ' + result.command, '— ' + String(result.status).replace('_', ' ')];
      if (result.exit_code !== null && result.exit_code !== undefined) bits.push('exit ' + result.exit_code);
      bits.push(formatDuration(result.duration_ms));
      if (result.output_truncated) bits.push('(output shortened)');
      head.textContent = bits.join(' ');
      out.textContent = result.output || '';
      out.dataset.commandId = commandId;
    } catch (e) {
      if (state.detailId === commandId) head.textContent = 'Cannot load the command: ' + e.message;
    }
  }

  // ------------------------------------------------------------------ start
  function start() {
    $('login-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const token = $('token-input').value.trim();
      if (token) login(token);
    });
    $('logout').addEventListener('click', () => loggedOut(''));
    $('session-list').addEventListener('click', onSessionListClick);
    $('session-list').addEventListener('keydown', onSessionListKey);
    $('command-list').addEventListener('click', onTimelineClick);
    $('command-list').addEventListener('keydown', onTimelineKey);
    $('control').addEventListener('click', onControlClick);

    takeTokenFromFragment();
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) login(token);
    else showLogin('');
    // A `#token=` link opened in a tab that already shows the page.
    window.addEventListener('hashchange', () => {
      takeTokenFromFragment();
      const fresh = sessionStorage.getItem(TOKEN_KEY);
      if (fresh && fresh !== state.token) login(fresh);
    });
  }

  // For tests and for poking at the page from the console.
  window.termbridgeViewer = {
    get term() { return term; },
    state: state,
    openSession: openSession,
    bufferText: bufferText,
    timeline: () => Array.from(state.commands.values()),
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
