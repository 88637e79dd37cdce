/* Verrijk embed.js: renders <div data-verrijk-form="KEY"> placeholders. Docs: docs/embed.md, docs/embed-api.md.
 * Budget: 5 KB gzipped (tests/test_embed_size.py). */
(() => {
  'use strict';
  if (window.Verrijk) return window.Verrijk.render();
  const script = document.currentScript;
  const origin = new URL(script.src).origin;
  const done = new WeakSet();
  // ?profile=ID&sig=SIG in the page's URL: a signed link (prefill, login forms)
  const link = () => [...new URLSearchParams(location.search)].filter(([p]) => p === 'profile' || p === 'sig');
  const red = 'var(--verrijk-error,#b3261e)';
  const accent = 'var(--verrijk-accent,#0b5cad)';
  const radius = 'border-radius:var(--verrijk-radius,.3em)';
  const CSS = `:host{all:initial;display:block;font:var(--verrijk-font-size,1rem)/1.4 var(--verrijk-font,system-ui,sans-serif);color:var(--verrijk-color,#1f2328)}
form,.ok{display:grid;gap:var(--verrijk-gap,.9em);max-width:var(--verrijk-max-width,36em)}
.f{display:grid;gap:.3em;border:0;margin:0;padding:0;min-width:0}
label,legend{font-weight:600;padding:0}
.o{display:flex;gap:.5em;align-items:baseline}.o label{font-weight:400}
input,select,textarea{font:inherit;color:inherit;background:var(--verrijk-input-background,#fff);border:1px solid var(--verrijk-border,#8c959f);${radius};padding:.45em .6em;box-sizing:border-box;width:100%}
[type=checkbox],[type=radio]{accent-color:${accent};width:1.1em;height:1.1em;margin:0;flex:none}
:focus-visible{outline:3px solid var(--verrijk-focus,${accent});outline-offset:2px}
[aria-invalid=true]{border-color:${red}}.e,.bad,.q:after{color:${red}}.q:after{content:" *"}.e:empty,.s:empty{display:none}
.h{font-size:.875em}
button{font:inherit;justify-self:start;cursor:pointer;padding:.55em 1.2em;border:0;${radius};background:${accent};color:var(--verrijk-accent-text,#fff)}
button:disabled{opacity:.6}
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}`;
  let sheet;

  // h('input', {required: true, text: 'textContent'}, ...children); null/false attributes are left out
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') el.textContent = v ?? '';
      else if (v != null && v !== false) el.setAttribute(k, v === true ? '' : v);
    }
    el.append(...kids.filter(Boolean));
    return el;
  }

  const hex = buf => Array.from(new Uint8Array(buf), b => b.toString(16).padStart(2, '0')).join('');
  const uid = () => hex(crypto.getRandomValues(new Uint8Array(16)));
  const json = async res => {
    if (res.status >= 500) throw Error(res.status);
    return res.json();
  };

  // A constructable stylesheet needs no CSP nonce; else a <style> with the host's nonce
  function style(root, nonce) {
    try {
      if (!sheet) {
        const s = new CSSStyleSheet();
        s.replaceSync(CSS);
        sheet = s;
      }
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.append(h('style', {nonce}, CSS));
    }
  }

  // ALTCHA proof of work: n with SHA-256(salt + n) = challenge; crypto.subtle hashes off the main thread
  async function solve(url) {
    const c = await json(await fetch(url, {cache: 'no-store'}));
    const enc = new TextEncoder();
    const max = c.maxnumber ?? 1e6;
    for (let n = 0; n <= max; n += 500) {
      const batch = [];
      for (let i = n; i < n + 500 && i <= max; i++) batch.push(crypto.subtle.digest('SHA-256', enc.encode(c.salt + i)));
      const i = (await Promise.all(batch)).findIndex(b => hex(b) === c.challenge);
      if (i >= 0) {
        const {algorithm, challenge, salt, signature} = c;
        return btoa(JSON.stringify({algorithm, challenge, number: n + i, salt, signature}));
      }
    }
    throw Error('captcha');
  }

  const CHOICES = {radio: 1, checkboxes: 1, consent: 1, interest: 1};
  const AUTOCOMPLETE = {email: 'email', tel: 'tel', password: 'new-password'};

  function build(root, def) {
    const msg = def.messages || {};
    const prefill = def.prefill || {};
    const fields = [];
    let captcha, solution, token, key, sending, n = 0;
    const form = h('form', {novalidate: true, lang: def.lang});
    const status = h('div', {class: 's', role: 'status', tabindex: '-1'});
    const button = h('button', {type: 'submit', text: def.submit_label});
    const retry = h('button', {type: 'submit', text: msg.retry, hidden: true});

    for (const item of def.items) {
      const id = 'v' + n++;
      const value = item.name in prefill ? prefill[item.name] : item.default;
      const common = {name: item.name, required: item.required, 'aria-describedby': (item.help ? id + 'h ' : '') + id + 'e'};
      const label = (text, target, tag = 'label') => h(tag, {for: target, class: item.required && 'q', text});
      let box, controls;
      if (item.type === 'hidden') {
        form.append(h('input', {type: 'hidden', name: item.name, value}));
        continue;
      } else if (item.type === 'html') {
        box = h('div');
        box.innerHTML = item.html; // sanitised by the server; the only innerHTML in this file
        form.append(box);
        continue;
      } else if (item.type === 'captcha') {
        captcha = item;
        continue;
      } else if (item.type === 'radio' || item.type === 'checkboxes') {
        const multi = item.type === 'checkboxes';
        const chosen = [].concat(value ?? []).map(String);
        controls = item.options.map((o, i) => h('input', {...common, id: id + '-' + i, value: o.value,
          type: multi ? 'checkbox' : 'radio', required: !multi && item.required, checked: chosen.includes(String(o.value))}));
        box = h('fieldset', {class: 'f'}, label(item.label, null, 'legend'), ...controls.map((c, i) =>
          h('div', {class: 'o'}, c, h('label', {for: c.id, text: item.options[i].label}))));
      } else if (CHOICES[item.type]) {
        controls = [h('input', {...common, id, type: 'checkbox', value: '1', checked: !!value && value !== '0'})];
        box = h('div', {class: 'f'}, h('div', {class: 'o'}, controls[0],
          label(item.type === 'consent' ? item.text || item.label : item.label, id)));
      } else {
        const tag = item.type === 'select' ? 'select' : item.type === 'textarea' ? 'textarea' : 'input';
        const c = h(tag, {...common, id, type: tag === 'input' && (item.type === 'datetime' ? 'datetime-local' : item.type),
          placeholder: item.placeholder, maxlength: item.maxlength, min: item.min, max: item.max, step: item.step,
          accept: item.accept, autocomplete: AUTOCOMPLETE[item.type]});
        if (tag === 'select') c.append(h('option', {value: ''}), ...item.options.map(o => h('option', {value: o.value, text: o.label})));
        if (value != null && item.type !== 'password' && item.type !== 'file') c.value = value;
        controls = [c];
        box = h('div', {class: 'f'}, label(item.label, id), c);
        if (item.type === 'password') {
          controls.push(h('input', {...common, id: id + 'r', name: item.name + '_repeat', type: 'password',
            autocomplete: AUTOCOMPLETE.password}));
          box.append(label(item.repeat_label, id + 'r'), controls[1]);
        }
      }
      const err = h('div', {class: 'e', id: id + 'e'});
      box.append(item.help ? h('div', {class: 'h', id: id + 'h', text: item.help}) : '', err);
      form.append(box);
      fields.push({item, controls, err});
    }
    form.append(h('div', {class: 'hp', 'aria-hidden': 'true'},
      h('input', {name: '_hp', tabindex: '-1', autocomplete: 'off'})), button, status, retry);

    // Mirrors the server's checks (the server decides; maxlength and accept are the inputs' own attributes)
    function check({item, controls: [c, repeat], controls}) {
      const t = item.type;
      const m = item.validation_message;
      if (CHOICES[t]) return item.required && !controls.some(x => x.checked) && (m || msg.required);
      const v = t === 'file' ? c.files[0] : c.value.trim();
      if (!v && !c.validity.badInput) return item.required && (m || msg.required);
      if (t === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) return m || msg.email;
      if (/^(number|date)/.test(t) && !c.validity.valid) return m || msg[t === 'number' ? 'number' : 'date'];
      if (repeat && repeat.value !== c.value) return msg.repeat;
      if (t === 'file' && v.size > item.max_bytes) return m || msg.too_large; // the server checks its type
    }

    // {name: message} inline (each control's aria-describedby names its error box), focus on the first;
    // returns [first control, messages of unknown names]
    function showErrors(errors) {
      let first;
      const rest = {...errors};
      for (const f of fields) {
        const name = f.item.name;
        const text = errors[name] || errors[name + '_repeat'];
        delete rest[name];
        delete rest[name + '_repeat'];
        f.err.textContent = text || '';
        for (const c of f.controls) text ? c.setAttribute('aria-invalid', 'true') : c.removeAttribute('aria-invalid');
        first = first || (text && f.controls[errors[name] ? 0 : 1]);
      }
      if (first) first.focus();
      return [first, Object.values(rest).join(' ')];
    }

    function say(text, bad) {
      status.textContent = text || '';
      status.classList.toggle('bad', !!bad);
    }

    function busy(on) {
      sending = button.disabled = on;
      form.setAttribute('aria-busy', on);
    }

    const fetchToken = async () => (token = (await json(await fetch(def.token_url, {cache: 'no-store'}))).token);
    const startSolving = () => {
      solution = solution || solve(captcha.captcha_url);
      solution.catch(() => (solution = null));
    };
    if (captcha) form.addEventListener('focusin', startSolving, {once: true}); // solve while the visitor types

    form.addEventListener('submit', async e => {
      e.preventDefault();
      if (sending) return;
      say('');
      const errors = {};
      for (const f of fields) {
        const m = check(f);
        if (m) errors[f.item.name] = m;
      }
      if (showErrors(errors)[0]) return;
      busy(true);
      retry.hidden = true;
      let res, body;
      try {
        const data = new FormData(form);
        key = key || uid(); // one key per attempt sequence: a retry after a network failure reuses it
        data.set('_idempotency_key', key);
        for (const [p, v] of [...link(), ['_lang', def.lang]]) data.set(p, v);
        data.set('_token', token || await fetchToken());
        if (captcha) {
          startSolving();
          say(msg.captcha);
          data.set('_altcha', await solution);
        }
        res = await fetch(def.submit_url, {method: 'POST', body: data});
        body = await json(res);
      } catch (err) {
        busy(false);
        say(msg.network, true);
        retry.hidden = false;
        retry.focus();
        return;
      }
      busy(false);
      if (res.ok && body.status === 'ok') {
        const next = body.redirect || body.prefill_url; // prefill_url: a login form's profile page
        if (/^https?:\/\//i.test(next)) return location.assign(next);
        const ok = h('div', {class: 'ok', role: 'status', tabindex: '-1', text: body.message || def.success_message});
        form.replaceWith(ok);
        return ok.focus();
      }
      key = solution = null; // the server answered: the next attempt is a new one
      if (body.status === 'rejected') fetchToken().catch(() => {}); // e.g. an expired token
      const [first, rest] = showErrors(body.errors || {});
      say([body.message, rest].filter(Boolean).join(' '), true);
      if (!first) status.focus();
    });

    root.append(form);
    fetchToken().catch(() => {}); // right after rendering; retried on submit if it failed
  }

  async function mount(el) {
    if (done.has(el)) return;
    done.add(el);
    const root = el.shadowRoot || el.attachShadow({mode: 'open'});
    style(root, el.dataset.verrijkNonce || script.nonce);
    const key = encodeURIComponent(el.dataset.verrijkForm);
    const url = new URL(el.dataset.verrijkSrc || `/p/forms/${key}`, origin);
    if (!el.dataset.verrijkSrc) for (const [p, v] of [...link(), ['lang', el.dataset.verrijkLang || el.dataset.lang || document.documentElement.lang]]) url.searchParams.set(p, v);
    let def;
    try {
      const res = await fetch(url);
      if (!res.ok) throw Error(res.status);
      def = await res.json();
    } catch (e) {
      const hosted = `${origin}/f/${key}`; // the hosted page works without this script
      root.append(h('a', {href: hosted, text: hosted}));
      return;
    }
    build(root, def);
  }

  // Renders the new placeholders in target (or target itself); already rendered ones are skipped
  let survey; // data-verrijk-survey: embed-survey.js, loaded only where needed
  function render(target = document) {
    const q = s => target.matches?.(s) ? [target] : target.querySelectorAll(s);
    if (q('[data-verrijk-survey]').length) window.VerrijkSurvey ? VerrijkSurvey.render(target)
      : survey = survey || document.head.append(h('script', {src: origin + '/static/embed-survey.js', nonce: script.nonce})) || 1;
    return Promise.all(Array.from(q('[data-verrijk-form]'), el => mount(el)));
  }

  window.Verrijk = {render, h, style, origin, solve, nonce: script.nonce};
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => render());
  else render();
})();
