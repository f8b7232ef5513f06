'use strict';
// The livepush control page: it polls /v1/status and /v1/preview.jpg twice a
// second (the preview only while the tab is seen), reads /v1/events with
// fetch (EventSource cannot send the bearer token) and acts through the same
// API. Text goes in with textContent only.
(() => {
  const $ = (id) => document.getElementById(id);
  const KEY = 'livepush-control-token';
  const POLL_MS = 500;
  const MAX_EVENTS = 50;

  let token = sessionStorage.getItem(KEY) || '';
  let needAuth = false;   // waiting for a token to be typed
  let down = false;       // the API does not answer
  let seen = false;       // it has answered once
  let eventsOn = false;   // an event stream is open
  let previewTag = '';
  let previewURL = '';
  let pollTimer = 0;
  let toastTimer = 0;

  class AuthError extends Error {}
  class DownError extends Error {}

  function headers(extra) {
    const h = new Headers(extra || {});
    if (token) h.set('Authorization', 'Bearer ' + token);
    return h;
  }

  // api does one request; a 401 asks for the token, a failed connection
  // marks livepush as gone. Other answers are the caller's.
  async function api(method, path, body, extra) {
    let resp;
    try {
      resp = await fetch(path, { method, body, headers: headers(extra), cache: 'no-store' });
    } catch (e) {
      setDown(true);
      throw new DownError('no answer');
    }
    setDown(false);
    if (resp.status === 401) {
      askToken();
      throw new AuthError('token');
    }
    return resp;
  }

  async function errorOf(resp) {
    try {
      const j = await resp.json();
      if (j && j.error) return j.error;
    } catch (e) { /* not JSON */ }
    return resp.status + ' ' + resp.statusText;
  }

  function setDown(d) {
    if (d === down) return;
    down = d;
    const b = $('banner');
    if (d) {
      b.textContent = seen ? 'livepush has stopped: its control API no longer answers. This page reconnects when it is back.'
        : 'livepush does not answer at this address.';
      b.hidden = false;
      $('onair').textContent = 'OFF AIR';
      $('onair').className = 'badge off';
      setState('stopped');
    } else {
      b.hidden = true;
    }
  }

  function askToken() {
    if (needAuth) return;
    needAuth = true;
    const wrong = token !== '';
    token = '';
    sessionStorage.removeItem(KEY);
    const m = $('auth-msg');
    m.textContent = wrong
      ? 'That token was refused. Give the token livepush was started with (--control-token or LIVEPUSH_CONTROL_TOKEN).'
      : 'This livepush asks for its control token.';
    m.className = wrong ? 'error' : '';
    $('main').hidden = true;
    $('auth').hidden = false;
    setState('locked');
    $('token').focus();
  }

  $('auth-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    $('token').value = '';
    if (!t) return;
    token = t;
    sessionStorage.setItem(KEY, t);
    needAuth = false;
    $('auth').hidden = true;
    poll();
  });

  // ---- formatting ----
  function dur(s) {
    if (typeof s !== 'number' || !isFinite(s)) return '–';
    if (s < 60) return s.toFixed(1) + ' s';
    const t = Math.floor(s), h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, sec = t % 60;
    const mm = String(m).padStart(h ? 2 : 1, '0'), ss = String(sec).padStart(2, '0');
    return h ? h + ':' + mm + ':' + ss : mm + ':' + ss;
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function setState(s) {
    const e = $('state');
    e.textContent = s;
    e.className = 'pill s-' + s;
  }
  function toast(msg, bad) {
    const t = $('toast');
    t.textContent = msg;
    t.className = bad ? 'toast bad' : 'toast';
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, bad ? 8000 : 4000);
  }

  $('toast').addEventListener('click', () => { $('toast').hidden = true; });

  // ---- status ----
  function render(st) {
    setState(st.state || 'unknown');
    const on = $('onair');
    on.textContent = st.publishing ? 'LIVE' : 'OFF AIR';
    on.className = st.publishing ? 'badge live' : 'badge off';
    $('uptime').textContent = dur(st.uptime_seconds);
    $('media').textContent = dur(st.media_seconds);
    $('drift').textContent = typeof st.drift_ms === 'number' ? st.drift_ms.toFixed(1) + ' ms' : '–';
    $('behind').textContent = dur(st.behind_live_seconds);
    $('restarts').textContent = String(st.restarts ?? '–');
    $('aired').textContent = String(st.clips_aired ?? '–');
    // The file's name; the path it was read from is in the tooltip.
    $('imgname').textContent = (st.image || '').split('/').pop();
    $('imgname').title = st.image || '';
    $('showing').textContent = st.showing ? 'showing: ' + st.showing : '';
    const le = $('lasterror');
    le.hidden = !st.last_error;
    le.textContent = st.last_error ? 'last error: ' + st.last_error : '';

    // The level meter spans -60..0 dBFS.
    const db = st.audio_level_db;
    const lv = typeof db === 'number' ? db : -100;
    $('level-bar').style.width = Math.max(0, Math.min(100, (lv + 60) / 60 * 100)) + '%';
    $('level-db').textContent = lv <= -99 ? 'silence' : lv.toFixed(1) + ' dBFS';

    renderOutputs(st);
    renderQueue(st);
  }

  function renderOutputs(st) {
    const outs = Array.isArray(st.outputs) && st.outputs.length ? st.outputs
      : [{ url: st.output, state: st.publishing ? 'publishing' : st.state }];
    const body = $('outputs');
    body.replaceChildren(...outs.map((o) => {
      const tr = el('tr');
      tr.append(el('td', 'url', o.url || '–'), el('td', 'ostate s-' + (o.state || ''), o.state || ''));
      if (typeof o.reconnects === 'number') {
        const d = typeof o.delay_seconds === 'number' && o.delay_seconds > 0.5 ? ', ' + dur(o.delay_seconds) + ' behind' : '';
        const td = el('td', 'small muted', o.reconnects + ' reconnects' + d);
        if (o.last_error) td.title = o.last_error;
        tr.append(td);
      }
      return tr;
    }));
  }

  function renderQueue(st) {
    const c = st.current;
    const cur = $('current');
    cur.className = c ? 'current on' : 'current idle';
    $('current-id').textContent = c ? 'on air: ' + c.id : 'nothing on air';
    $('current-time').textContent = c ? dur(c.elapsed_seconds) + ' / ' + dur(c.duration_seconds) : '';
    const p = $('current-progress');
    p.max = c && c.duration_seconds > 0 ? c.duration_seconds : 1;
    p.value = c ? Math.min(c.elapsed_seconds || 0, p.max) : 0;

    const items = (st.queue && st.queue.items) || [];
    $('queue').replaceChildren(...items.map((q) => {
      const li = el('li');
      li.dataset.id = q.id;
      const b = el('button', 'drop-clip', 'Drop');
      b.type = 'button';
      b.addEventListener('click', () => dropClip(q.id));
      li.append(el('span', 'qid', q.id), el('span', 'small', dur(q.duration_seconds)), b);
      return li;
    }));
    $('queue-empty').hidden = items.length > 0;
    $('queue-total').textContent = items.length ? items.length + ' queued, ' + dur(st.queue.seconds) : '';
  }

  async function refreshStatus() {
    const resp = await api('GET', '/v1/status');
    if (!resp.ok) throw new Error(await errorOf(resp));
    const st = await resp.json();
    seen = true;
    $('main').hidden = false;
    render(st);
  }

  async function refreshPreview() {
    const extra = previewTag ? { 'If-None-Match': previewTag } : {};
    const resp = await api('GET', '/v1/preview.jpg', undefined, extra);
    if (resp.status === 304 || !resp.ok) return;
    previewTag = resp.headers.get('ETag') || '';
    const url = URL.createObjectURL(await resp.blob());
    const img = $('preview'), old = previewURL;
    previewURL = url;
    img.onload = () => {
      $('imgsize').textContent = img.naturalWidth + '×' + img.naturalHeight;
      if (old) URL.revokeObjectURL(old);
    };
    img.src = url;
  }

  // poll refreshes the status and the preview now, then once a second; a
  // call while one runs makes it run again at once instead of twice over.
  let polling = false, pollAgain = false;
  async function poll() {
    if (polling) { pollAgain = true; return; }
    polling = true;
    clearTimeout(pollTimer);
    do {
      pollAgain = false;
      if (needAuth) break;
      try {
        await refreshStatus();
        if (!document.hidden) await refreshPreview();
        if (!eventsOn) watchEvents();
      } catch (e) { /* shown by api(): the banner or the token prompt */ }
    } while (pollAgain);
    polling = false;
    if (!needAuth) pollTimer = setTimeout(poll, POLL_MS);
  }

  // ---- events ----
  async function watchEvents() {
    eventsOn = true;
    try {
      const resp = await api('GET', '/v1/events');
      if (!resp.ok || !resp.body) return;
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          onEvent(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      }
    } catch (e) {
      /* livepush went away or the token was refused; poll says which */
    } finally {
      eventsOn = false;
    }
  }

  function onEvent(block) {
    let kind = '', data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) kind = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (!kind || !data) return; // a comment: subscribed, heartbeat
    let ev;
    try { ev = JSON.parse(data); } catch (e) { return; }
    const li = el('li', 'ev k-' + kind);
    const t = new Date(ev.time);
    const detail = [ev.id, ev.state, ev.error].filter(Boolean).join(' ');
    li.append(el('time', 'small muted', isNaN(t) ? '' : t.toLocaleTimeString()),
      el('span', 'kind', kind), el('span', 'detail', detail),
      el('span', 'small muted', 'at ' + dur(ev.media_seconds)));
    const list = $('events');
    list.prepend(li);
    while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
    $('events-empty').hidden = true;
    poll(); // the queue and the state have changed
  }

  // ---- actions ----
  async function act(fn) {
    try {
      await fn();
    } catch (e) {
      if (!(e instanceof AuthError) && !(e instanceof DownError)) toast(e.message, true);
    }
    poll();
  }

  function queueSpeech(file) {
    act(async () => {
      const q = $('speech-interrupt').checked ? '?interrupt=1' : '';
      const resp = await api('POST', '/v1/speech' + q, file, { 'Content-Type': 'audio/wav' });
      if (resp.status !== 202) throw new Error(file.name + ': ' + await errorOf(resp));
      const a = await resp.json();
      toast('Queued ' + file.name + ' as ' + a.id + ' (' + dur(a.duration_seconds) + '), on air in ' + dur(a.starts_in_seconds));
    });
  }

  function swapImage(file) {
    act(async () => {
      const role = $('image-role').value;
      const resp = await api('PUT', '/v1/image?role=' + encodeURIComponent(role) + '&name=' + encodeURIComponent(file.name), file);
      if (resp.status !== 204) throw new Error(file.name + ': ' + await errorOf(resp));
      toast(role === 'idle' ? file.name + ' is on air' : file.name + ' is the ' + role + ' picture');
    });
  }

  function dropClip(id) {
    act(async () => {
      const resp = await api('DELETE', '/v1/speech/' + encodeURIComponent(id));
      if (resp.status !== 204) throw new Error(await errorOf(resp));
      toast('Dropped ' + id);
    });
  }

  $('interrupt').addEventListener('click', () => act(async () => {
    const resp = await api('POST', '/v1/interrupt');
    if (!resp.ok) throw new Error(await errorOf(resp));
    const r = await resp.json();
    toast(r.interrupted ? 'Cut, and the queue cleared' : 'Nothing was airing or queued');
  }));

  $('stop').addEventListener('click', () => {
    $('stop-confirm').hidden = false;
    $('stop').hidden = true;
  });
  $('stop-no').addEventListener('click', () => {
    $('stop-confirm').hidden = true;
    $('stop').hidden = false;
  });
  $('stop-yes').addEventListener('click', () => act(async () => {
    $('stop-confirm').hidden = true;
    $('stop').hidden = false;
    const resp = await api('POST', '/v1/stop');
    if (resp.status !== 202) throw new Error(await errorOf(resp));
    toast('Stopping: ffmpeg finishes the output');
  }));

  function fileInput(inputId, zoneId, use) {
    const input = $(inputId), zone = $(zoneId);
    input.addEventListener('change', () => {
      const f = input.files && input.files[0];
      if (f) use(f);
      input.value = ''; // the same file may be chosen again
    });
    zone.addEventListener('dragover', (ev) => { ev.preventDefault(); zone.classList.add('over'); });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (ev) => {
      ev.preventDefault();
      zone.classList.remove('over');
      const f = ev.dataTransfer && ev.dataTransfer.files[0];
      if (f) use(f);
    });
  }
  fileInput('speech-file', 'speech-drop', queueSpeech);
  fileInput('image-file', 'image-drop', swapImage);
  // A file dropped beside a zone must not replace the page.
  window.addEventListener('dragover', (ev) => ev.preventDefault());
  window.addEventListener('drop', (ev) => ev.preventDefault());

  document.addEventListener('visibilitychange', () => { if (!document.hidden) poll(); });
  poll();
})();
