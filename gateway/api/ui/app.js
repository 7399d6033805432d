// Beacon manager's page: vanilla JavaScript, no build step, no CDN.
'use strict';

const T = {
  en: {title: 'Beacon', simulated: 'simulated time', logout: 'Log out', login: 'Log in', token: 'Token',
    sign: 'Sign', flag: 'Flag', rooms: 'Rooms', pa: 'PA', alarms: 'Alarms', timeline: 'Last 12 h and next 12 h',
    planned_on: 'planned on', flag_up: 'flag up', happened: 'happened', broadcast: 'broadcast',
    points: 'Devices and points', point: 'Point', value: 'Value', quality: 'Quality', command: 'In force',
    broadcasts: 'Broadcasts', due: 'Due', done: 'Done', announce: 'Announce now', clip: 'Clip', text: 'or text',
    volume: 'Volume', emergency: 'Emergency (pre-empts, plays in quiet hours)', start: 'Start', stop: 'Stop broadcast',
    schedules: 'Schedules', calendar: 'Calendar', date: 'Date', tags: 'Tags', note: 'Note', add_day: 'Add a day',
    quiet: 'Quiet hours', validate: 'Check', save: 'Save and apply', plan: 'Plan (today and tomorrow)',
    nights: 'Last nights', night: 'Night', required: 'Required min', lit: 'Lit', dark: 'Dark', unknown: 'Unknown',
    compliance: 'Compliance', audit: 'Audit log', when: 'When', who: 'Who', what: 'What', target: 'Target',
    before: 'Before', after: 'After', result: 'Result', override: 'Override', for: 'For', apply: 'Apply', cancel: 'Cancel',
    clear: 'Clear', state_lit: 'Lit', 'state_partly-dark': 'Partly dark', state_dark: 'Dark', state_unknown: 'Unknown',
    occupied: 'occupied', empty: 'empty', idle: 'Idle', playing: 'Playing', none: 'none', no_alarms: 'No alarms',
    window: 'window', job: 'job', between: 'from', and: 'to', at: 'at', cron: 'cron', days: 'days', only: 'only on', except: 'except on',
    valid: 'Valid. The plan below shows the change.', saved: 'Saved and applied.', problems: 'Problems:',
    bad_token: 'The token was not accepted.', moving: 'moving', top: 'top', current: 'current', until: 'until',
    position: 'position', flag_raise: 'raised', flag_lower: 'lowered', flag_half: 'half-mast'},
  zh: {title: '灯塔', simulated: '模拟时间', logout: '退出', login: '登录', token: '令牌',
    sign: '楼顶标识', flag: '国旗', rooms: '功能室', pa: '广播', alarms: '告警', timeline: '前后12小时',
    planned_on: '计划开启', flag_up: '升旗', happened: '已执行', broadcast: '广播',
    points: '设备与点位', point: '点位', value: '值', quality: '质量', command: '当前指令',
    broadcasts: '广播', due: '待播', done: '已播', announce: '立即广播', clip: '音频', text: '或文字',
    volume: '音量', emergency: '紧急（可打断，静默时段也播放）', start: '开始', stop: '停止广播',
    schedules: '时间表', calendar: '日历', date: '日期', tags: '标签', note: '备注', add_day: '添加日期',
    quiet: '静默时段', validate: '检查', save: '保存并生效', plan: '计划（今明两天）',
    nights: '近几晚', night: '夜晚', required: '应亮分钟', lit: '亮', dark: '暗', unknown: '未知',
    compliance: '达标率', audit: '操作记录', when: '时间', who: '人员', what: '操作', target: '对象',
    before: '之前', after: '之后', result: '结果', override: '手动控制', for: '持续', apply: '执行', cancel: '取消',
    clear: '取消手动', state_lit: '已点亮', 'state_partly-dark': '部分不亮', state_dark: '未点亮', state_unknown: '未知',
    occupied: '有人', empty: '无人', idle: '空闲', playing: '正在播放', none: '无', no_alarms: '无告警',
    window: '时段', job: '定时', between: '从', and: '到', at: '时间', cron: 'cron', days: '星期', only: '仅限', except: '除外',
    valid: '检查通过，下方计划已更新。', saved: '已保存并生效。', problems: '问题：',
    bad_token: '令牌无效。', moving: '移动中', top: '顶部', current: '电流', until: '至',
    position: '位置', flag_raise: '已升起', flag_lower: '已降下', flag_half: '半旗'},
};
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const DAYS_ZH = {mon: '一', tue: '二', wed: '三', thu: '四', fri: '五', sat: '六', sun: '日'};
let lang = (navigator.languages && navigator.languages[0] || navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
const t = (k) => (T[lang][k] ?? T.en[k] ?? k);
const $ = (s) => document.querySelector(s);
let token = sessionStorage.getItem('beacon-token') || '';
let status = null, points = [], schedules = null, timer = null;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k.nodeType ? k : document.createTextNode(String(k)));
  return e;
}

function translate() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.querySelectorAll('[data-t]').forEach((e) => { e.textContent = t(e.dataset.t); });
}

async function api(method, path, body) {
  const opts = {method, headers: {Authorization: 'Bearer ' + token}};
  if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers['Content-Type'] = 'application/json'; }
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) { logout(); throw new Error(t('bad_token')); }
  if (!r.ok) { const e = new Error(data.error || r.statusText); e.fields = data.fields || []; e.status = r.status; throw e; }
  return data;
}

const hm = (s) => (s ? new Date(s).toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en-GB', {hour: '2-digit', minute: '2-digit', timeZone: status?.center.timezone}) : '');
const dt = (s) => (s ? s.slice(0, 16).replace('T', ' ') : '');

async function login(e) {
  e?.preventDefault();
  token = token || $('#token').value.trim();
  if (e) token = $('#token').value.trim();
  try {
    const who = await api('GET', '/api/whoami');
    sessionStorage.setItem('beacon-token', token);
    $('#who').textContent = who.name + ' (' + who.role + ')';
    $('#login-view').hidden = true; $('#main-view').hidden = false; $('#logout').hidden = false;
    await loadSchedules();
    await refresh();
    clearInterval(timer); timer = setInterval(refresh, 2000);
  } catch (err) {
    $('#login-error').textContent = err.message;
  }
}

function logout() {
  sessionStorage.removeItem('beacon-token'); token = ''; clearInterval(timer);
  $('#login-view').hidden = false; $('#main-view').hidden = true; $('#logout').hidden = true; $('#who').textContent = '';
}

async function refresh() {
  try {
    const [st, pts, tl, bc, plan, nights, audit] = await Promise.all([api('GET', '/api/status'), api('GET', '/api/points'),
      api('GET', '/api/timeline'), api('GET', '/api/broadcasts'), api('GET', '/api/plan?days=2'), api('GET', '/api/nights'), api('GET', '/api/audit?limit=50&users=1')]);
    status = st; points = pts;
    renderStatus(st); renderPoints(pts); renderTimeline(tl); renderBroadcasts(bc, st); renderPlan(plan); renderNights(nights); renderAudit(audit);
  } catch (err) { console.error(err); }
}

function renderStatus(st) {
  $('#center-name').textContent = st.center.name;
  $('#now').textContent = dt(st.center.now);
  $('#simulated').hidden = !st.center.simulated;
  const s = st.signs[0];
  if (s) {
    $('#sign-state').textContent = t('state_' + s.state);
    $('#sign-state').className = 'big ' + (s.lit ? 'lit' : s.state === 'unknown' ? 'warn' : 'dark');
    $('#sign-current').textContent = s.current_a != null ? t('current') + ' ' + s.current_a.toFixed(2) + ' A' : '';
  }
  const f = st.flags[0];
  if (f) {
    $('#flag-state').textContent = f.position_pct != null ? Math.round(f.position_pct) + ' %' : '?';
    $('#flag-detail').textContent = (f.moving ? t('moving') + ' ' + (f.step || '') : t('flag_' + f.target) || '') + (f.last_error ? ' ⚠ ' + f.last_error : '');
  }
  $('#rooms').replaceChildren(...st.rooms.map((r) => el('li', {class: r.occupied ? 'lit' : ''}, r.room + ': ' + (r.known ? t(r.occupied ? 'occupied' : 'empty') : '?'))));
  const p = st.pas[0];
  if (p) {
    $('#pa-state').textContent = p.playing ? t('playing') : t('idle');
    $('#pa-state').className = 'big ' + (p.playing ? (p.emergency ? 'lit' : 'okc') : '');
    $('#pa-detail').textContent = p.playing ? p.what + ' · ' + p.source : '';
    if (!$('#bc-clip').options.length) {
      $('#bc-clip').append(el('option', {value: ''}, '—'), ...p.clips.map((c) => el('option', {value: c}, c)));
      $('#bc-volume').value = p.volume;
    }
  }
  // A center with more than one sign, flagpole or PA: the first has the
  // tile, the others a line each under it.
  $('#sign-others').replaceChildren(...st.signs.slice(1).map((x) => el('li', {class: x.lit ? 'lit' : ''},
    x.device + ': ' + t('state_' + x.state) + (x.current_a != null ? ' · ' + x.current_a.toFixed(2) + ' A' : ''))));
  $('#flag-others').replaceChildren(...st.flags.slice(1).map((x) => el('li', {},
    x.device + ': ' + (x.position_pct != null ? Math.round(x.position_pct) + ' %' : '?'))));
  $('#pa-others').replaceChildren(...st.pas.slice(1).map((x) => el('li', {},
    x.device + ': ' + (x.playing ? t('playing') + ' ' + x.what : t('idle')))));
  $('#alarms').replaceChildren(...(st.alarms.length ? st.alarms.map((a) => el('li', {class: 'lit'}, a.device + ': ' + a.message)) : [el('li', {class: 'okc'}, t('no_alarms'))]));
}

function renderPoints(pts) {
  $('#points tbody').replaceChildren(...pts.map((p) => {
    const eff = p.effective;
    const cmd = eff ? `${JSON.stringify(eff.value)} · ${eff.slot} · ${eff.author}${eff.expires ? ' · ' + t('until') + ' ' + hm(eff.expires) : ''}` : '';
    const btns = p.writable ? [el('button', {type: 'button', class: 'ov-open', 'data-point': p.point, onclick: () => openOverride(p)}, t('override')),
      eff && eff.slot === 'manual' ? el('button', {type: 'button', class: 'ov-clear', 'data-point': p.point, onclick: () => clearOverride(p.point)}, t('clear')) : null] : [];
    return el('tr', {'data-point': p.point}, el('td', {}, p.point), el('td', {class: 'val'}, p.value === null ? '—' : String(p.value) + (p.unit ? ' ' + p.unit : '')),
      el('td', {}, p.quality), el('td', {class: 'cmd'}, cmd), el('td', {}, btns));
  }));
}

function openOverride(p) {
  const d = $('#override');
  d.dataset.point = p.point; d.dataset.type = p.type;
  $('#ov-point').textContent = p.point;
  $('#ov-error').textContent = '';
  $('#ov-value').hidden = p.type !== 'bool'; $('#ov-number').hidden = p.type === 'bool';
  $('#ov-value').replaceChildren(el('option', {value: 'true'}, 'true / 开'), el('option', {value: 'false'}, 'false / 关'));
  d.showModal();
}

async function submitOverride(e) {
  e.preventDefault();
  const d = $('#override');
  const value = d.dataset.type === 'bool' ? $('#ov-value').value === 'true' : Number($('#ov-number').value);
  try {
    await api('POST', '/api/overrides', {point: d.dataset.point, value, expires_in: $('#ov-expiry').value});
    d.close(); refresh();
  } catch (err) { $('#ov-error').textContent = err.message + ' ' + (err.fields || []).map((f) => f.field + ': ' + f.message).join('; '); }
}

async function clearOverride(point) { await api('DELETE', '/api/overrides/' + encodeURIComponent(point)); refresh(); }

function renderBroadcasts(bc) {
  $('#bc-due').replaceChildren(...bc.queued.concat(bc.due).map((b) => el('li', {}, dt(b.start) + ' ' + b.what + ' · ' + b.source + (b.reason ? ' ⚠ ' + b.reason : ''))));
  $('#bc-done').replaceChildren(...bc.done.slice(0, 8).map((b) => el('li', {}, dt(b.start) + ' ' + b.what + ' · ' + b.result + (b.reason ? ' (' + b.reason + ')' : ''))));
}

async function startBroadcast(e) {
  e.preventDefault();
  const pa = status?.pas[0];
  if (!pa) return;
  const body = {device: pa.device, volume: Number($('#bc-volume').value), emergency: $('#bc-emergency').checked};
  if ($('#bc-clip').value) body.clip = $('#bc-clip').value; else body.text = $('#bc-text').value;
  try { await api('POST', '/api/broadcasts', body); $('#bc-error').textContent = ''; refresh(); } catch (err) {
    $('#bc-error').textContent = err.message + ' ' + (err.fields || []).map((f) => f.field + ': ' + f.message).join('; ');
  }
}

// Timeline: x is time over the window; one lane per scheduled target.
function renderTimeline(tl) {
  const svg = $('#timeline');
  const ns = 'http://www.w3.org/2000/svg';
  const from = Date.parse(tl.from), to = Date.parse(tl.to), W = 1000, L = 90;
  const x = (s) => L + ((Date.parse(s) - from) / (to - from)) * (W - L - 10);
  const kids = [];
  const add = (tag, attrs, text) => { const e = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (text) e.textContent = text; kids.push(e); return e; };
  const lanes = tl.lanes.slice(0, 4);
  const H = 30 + lanes.length * 24 + 30;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  for (let h = Math.ceil(from / 3600e3) * 3600e3; h < to; h += 3 * 3600e3) {
    const xs = x(new Date(h).toISOString());
    add('line', {x1: xs, x2: xs, y1: 15, y2: H - 15, stroke: '#ddd'});
    add('text', {x: xs - 14, y: 12}, hm(new Date(h).toISOString()));
  }
  tl.sunset.forEach((s) => add('text', {x: x(s) - 6, y: H - 2}, '☾'));
  tl.sunrise.forEach((s) => add('text', {x: x(s) - 6, y: H - 2}, '☀'));
  lanes.forEach((l, i) => {
    const y = 24 + i * 24;
    add('text', {x: 2, y: y + 13}, l.target);
    for (const sg of l.planned) {
      const on = sg.value === 'true' || sg.value === 'raised';
      const half = sg.value === 'half';
      add('rect', {x: x(sg.from), y: y + 2, width: Math.max(1, x(sg.to) - x(sg.from)), height: 14, rx: 2,
        fill: on ? (l.kind === 'flag' ? '#3465a4' : '#c8102e') : half ? '#7d9bc6' : '#e6e2da'}).append(Object.assign(document.createElementNS(ns, 'title'), {textContent: `${sg.value} (${sg.rule || '-'})`}));
    }
    for (const ev of tl.events) {
      if (ev.kind === 'write' && ev.target === l.target) add('circle', {cx: x(ev.at), cy: y + 19, r: 3, fill: ev.result === 'complied' ? '#222' : '#c8102e'});
    }
  });
  const yb = 24 + lanes.length * 24;
  add('text', {x: 2, y: yb + 12}, t('broadcast'));
  for (const ev of tl.events) {
    if (ev.kind === 'broadcast' || ev.kind === 'planned-broadcast') add('circle', {cx: x(ev.at), cy: yb + 8, r: 5, fill: ev.kind === 'broadcast' ? '#b8860b' : 'none', stroke: '#b8860b'});
    if (ev.kind === 'action') add('path', {d: `M${x(ev.at)} ${yb - 2} l4 8 l-8 0 z`, fill: '#555'});
  }
  const xn = x(tl.now);
  add('line', {x1: xn, x2: xn, y1: 15, y2: H - 15, stroke: '#c8102e', 'stroke-width': 2, id: 'now-line'});
  svg.replaceChildren(...kids);
}

function renderPlan(p) {
  $('#plan').replaceChildren(...p.entries.filter((e) => e.kind !== 'skip').map((e) =>
    el('li', {'data-rule': e.rule || ''}, `${dt(e.at)}  ${e.kind.padEnd(9)} ${e.target || ''} ${e.value || ''}  (${e.rule || ''})${e.warning ? '  ! ' + e.warning : ''}`)));
}

function renderNights(ns) {
  $('#nights tbody').replaceChildren(...ns.slice().reverse().map((n) => el('tr', {}, el('td', {}, dt(n.start).slice(0, 10)), el('td', {}, n.device),
    el('td', {}, n.required_min), el('td', {}, n.lit_min), el('td', {}, n.dark_min), el('td', {}, n.unknown_min), el('td', {}, (100 * n.compliance).toFixed(1) + ' %'))));
}

function renderAudit(es) {
  $('#audit tbody').replaceChildren(...es.map((a) => el('tr', {}, el('td', {}, dt(a.time)), el('td', {}, a.user), el('td', {}, a.action),
    el('td', {}, a.target), el('td', {class: 'clip'}, a.before || ''), el('td', {class: 'clip'}, a.after || ''), el('td', {}, a.result))));
}

// The schedule editor works on the /api/schedules document; every input
// carries the field path the server reports errors at (rules[2].at).
async function loadSchedules() { schedules = await api('GET', '/api/schedules'); renderSchedules(); }

function input(path, value, set, attrs) {
  return el('input', {type: 'text', 'data-path': path, value: value ?? '', ...attrs, oninput: (e) => set(e.target.value)});
}

function renderSchedules() {
  const s = schedules;
  $('#sched-rules').replaceChildren(...s.rules.map((r, i) => {
    const p = `rules[${i}]`;
    const parts = [el('h4', {}, r.name)];
    if (r.between) {
      parts.push(el('label', {}, t('between') + ' ', input(p + '.between[0]', r.between[0], (v) => (r.between[0] = v), {size: 12})),
        el('label', {}, t('and') + ' ', input(p + '.between[1]', r.between[1], (v) => (r.between[1] = v), {size: 12})));
    }
    if (r.at !== undefined) parts.push(el('label', {}, t('at') + ' ', input(p + '.at', r.at, (v) => (r.at = v), {size: 12})));
    if (r.cron !== undefined) parts.push(el('label', {}, t('cron') + ' ', input(p + '.cron', r.cron, (v) => (r.cron = v), {size: 14})));
    parts.push(el('span', {class: 'days', 'data-path': p + '.days'}, t('days') + ' ', DAYS.map((d) => el('label', {},
      el('input', {type: 'checkbox', checked: !r.days || r.days.includes(d), onchange: (e) => {
        const cur = new Set(r.days || DAYS); e.target.checked ? cur.add(d) : cur.delete(d);
        r.days = cur.size === 7 ? undefined : DAYS.filter((x) => cur.has(x));
      }}), lang === 'zh' ? DAYS_ZH[d] : d))));
    if (r.broadcast) {
      const b = r.broadcast, pa = status?.pas.find((x) => x.device === b.device);
      parts.push(el('div', {}, t('broadcast') + ': ',
        el('label', {}, t('clip') + ' ', el('select', {'data-path': p + '.broadcast.clip', onchange: (e) => { b.clip = e.target.value || undefined; }},
          el('option', {value: ''}, '—'), (pa?.clips || [b.clip]).filter(Boolean).map((c) => el('option', {value: c, selected: c === b.clip}, c)))),
        el('label', {}, t('text') + ' ', input(p + '.broadcast.text', b.text, (v) => (b.text = v || undefined), {size: 16})),
        el('label', {}, 'zones ', input(p + '.broadcast.zones', (b.zones || []).join(','), (v) => (b.zones = v.split(',').map((z) => z.trim()).filter(Boolean).map(Number)), {size: 6})),
        el('label', {}, t('volume') + ' ', el('input', {type: 'number', min: 0, max: 100, 'data-path': p + '.broadcast.volume', value: b.volume ?? '', oninput: (e) => (b.volume = Number(e.target.value))}))));
    }
    if (r.flag) parts.push(el('div', {}, t('flag') + ': ' + r.flag.action));
    if (r.set) parts.push(el('div', {}, Object.entries(r.set).map(([k, v]) => `${k} = ${v}`).join(', ') + (r.otherwise ? ' · otherwise ' + Object.entries(r.otherwise).map(([k, v]) => `${k} = ${v}`).join(', ') : '')));
    return el('div', {class: 'rule', 'data-path': p, 'data-rule': r.name}, parts);
  }));
  $('#sched-cal tbody').replaceChildren(...s.calendar.map((c, i) => {
    const p = `calendar[${i}]`;
    const kind = c.yearly ? 'yearly' : c.from ? 'from' : 'date';
    return el('tr', {},
      el('td', {}, kind === 'from' ? [input(p + '.from', c.from, (v) => (c.from = v), {size: 10}), '–', input(p + '.to', c.to, (v) => (c.to = v), {size: 10})]
        : input(p + '.' + kind, c[kind], (v) => (c[kind] = v), {size: 10})),
      el('td', {}, input(p + '.tags', (c.tags || []).join(', '), (v) => (c.tags = v.split(',').map((x) => x.trim()).filter(Boolean)), {size: 18})),
      el('td', {}, input(p + '.note', c.note, (v) => (c.note = v || undefined), {size: 24})),
      el('td', {}, el('button', {type: 'button', onclick: () => { s.calendar.splice(i, 1); renderSchedules(); }}, '✕')));
  }));
  const q = s.quiet_hours;
  $('#sched-quiet').replaceChildren(...(q ? [t('between') + ' ', input('quiet_hours.between[0]', q.between[0], (v) => (q.between[0] = v), {size: 8}),
    ' ' + t('and') + ' ', input('quiet_hours.between[1]', q.between[1], (v) => (q.between[1] = v), {size: 8})] : [t('none')]));
}

function showErrors(fields) {
  document.querySelectorAll('.invalid').forEach((e) => e.classList.remove('invalid'));
  document.querySelectorAll('.field-error').forEach((e) => e.remove());
  $('#sched-errors').replaceChildren(...fields.map((f) => el('li', {}, `${f.field}: ${f.message}`)));
  for (const f of fields) {
    // The input of the field, else of its nearest parent path.
    let path = f.field, target = null;
    while (path && !(target = document.querySelector(`#sched-rules [data-path="${CSS.escape(path)}"], #sched-cal [data-path="${CSS.escape(path)}"], #sched-quiet [data-path="${CSS.escape(path)}"]`))) {
      const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
      path = cut > 0 ? path.slice(0, cut) : '';
    }
    if (target) { target.classList.add('invalid'); target.after(el('span', {class: 'field-error'}, f.message)); }
  }
}

async function saveSchedules(apply) {
  $('#sched-status').textContent = '';
  try {
    const res = await api(apply ? 'PUT' : 'POST', apply ? '/api/schedules' : '/api/schedules/validate', schedules);
    showErrors([]);
    $('#sched-status').textContent = t(apply ? 'saved' : 'valid');
    renderPlan(res.plan);
    if (apply) { schedules = res.schedules; renderSchedules(); refresh(); }
  } catch (err) {
    $('#sched-status').textContent = t('problems') + ' ' + err.message;
    showErrors(err.fields || []);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  translate();
  $('#lang').addEventListener('click', () => { lang = lang === 'zh' ? 'en' : 'zh'; translate(); if (schedules) renderSchedules(); if (status) refresh(); });
  $('#login-form').addEventListener('submit', login);
  $('#logout').addEventListener('click', logout);
  $('#ov-form').addEventListener('submit', submitOverride);
  $('#ov-cancel').addEventListener('click', () => $('#override').close());
  $('#bc-form').addEventListener('submit', startBroadcast);
  $('#bc-stop').addEventListener('click', async () => { await api('POST', '/api/broadcasts/stop'); refresh(); });
  $('#cal-add').addEventListener('click', () => { schedules.calendar.push({date: '', tags: []}); renderSchedules(); });
  $('#sched-validate').addEventListener('click', () => saveSchedules(false));
  $('#sched-save').addEventListener('click', () => saveSchedules(true));
  if (token) login();
});
