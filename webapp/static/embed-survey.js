/* Verrijk embed-survey.js: renders <div data-verrijk-survey="KEY"> placeholders, one page at a time.
 * Loaded by embed.js only on pages that show a survey (embed.js keeps its 5 KB budget). The server decides
 * everything: which questions a page shows (conditions), what is valid, which page comes next. Docs: docs/surveys.md. */
(() => {
  'use strict';
  if (window.VerrijkSurvey) return window.VerrijkSurvey.render();
  const {h, style, origin, solve, nonce} = window.Verrijk;
  const done = new WeakSet();
  const params = new URLSearchParams(location.search);
  const store = (() => { try { return window.localStorage; } catch (e) { return null; } })();

  // One item of a page definition, filled with `values` (the stored answers, by name): [element, error box]
  function control(item, n, values) {
    const id = 'sv' + n;
    const err = h('div', {class: 'e', id: id + 'e'});
    const help = item.help ? h('div', {class: 'h', id: id + 'h', text: item.help}) : '';
    const describe = {'aria-describedby': (help ? id + 'h ' : '') + id + 'e'};
    const name = item.name;
    const given = values[name] ?? item.default;
    const chosen = [].concat(given ?? []).map(String);
    const pick = (type, value, text, i, extra) => h('div', {class: 'o'},
      h('input', {type, name: extra || name, id: id + '-' + i, value, ...describe,
        checked: extra ? values[extra] === String(value) : chosen.includes(String(value))}),
      h('label', {for: id + '-' + i, text}));
    const legend = h('legend', {class: item.required && 'q', text: item.label});
    const other = () => h('input', {name: name + '_other', 'aria-label': item.other, value: values[name + '_other'], ...describe});
    let box;
    if (item.type === 'radio' || item.type === 'checkboxes') {
      const type = item.type === 'radio' ? 'radio' : 'checkbox';
      box = h('fieldset', {class: 'f'}, legend, ...item.options.map((o, i) => pick(type, o.value, o.label, i)));
      if (item.other) box.append(pick(type, '_other', item.other, 'o'), other());
    } else if (item.type === 'rating' || item.type === 'nps') {
      box = h('fieldset', {class: 'f'}, legend, h('div', {class: 'o'},
        ...Array.from({length: item.max - item.min + 1}, (_, i) => pick('radio', item.min + i, String(item.min + i), i))));
    } else if (item.type === 'consent') {
      const c = h('input', {type: 'checkbox', id, name, value: item.value, checked: given === item.value, ...describe});
      box = h('div', {class: 'f'}, item.text !== item.label ? h('p', {text: item.text}) : '',
        h('div', {class: 'o'}, c, h('label', {for: id, class: item.required && 'q', text: item.label})));
    } else if (item.type === 'grid') {
      box = h('fieldset', {class: 'f'}, legend, ...item.rows.map((row, r) => h('div', {class: 'o', role: 'radiogroup',
        'aria-label': row.label}, h('span', {text: row.label}),
        ...item.columns.map((c, i) => pick('radio', c.value, c.label, r + '-' + i, name + '_' + r)))));
    } else {
      const tag = item.type === 'select' ? 'select' : item.type === 'textarea' ? 'textarea' : 'input';
      const c = h(tag, {id, name, type: tag === 'input' && item.type, step: item.type === 'number' && 'any', ...describe});
      if (tag === 'select') {
        c.append(h('option', {value: ''}), ...item.options.map(o => h('option', {value: o.value, text: o.label})));
        if (item.other) c.append(h('option', {value: '_other', text: item.other}));
      }
      if (given != null) c.value = given;
      box = h('div', {class: 'f'}, h('label', {for: id, class: item.required && 'q', text: item.label}), c);
      if (item.other) box.append(other());
    }
    box.append(help, err);
    return [box, err];
  }

  function mount(el) {
    if (done.has(el)) return;
    done.add(el);
    const root = el.shadowRoot || el.attachShadow({mode: 'open'});
    style(root, el.dataset.verrijkNonce || nonce);
    const key = el.dataset.verrijkSurvey;
    const saved = 'verrijk-survey-' + key;
    const base = `${origin}/p/surveys/${encodeURIComponent(key)}`;
    // The signed link, the language and hidden fields: the host page's URL and data-verrijk-* attributes
    const extra = {};
    for (const p of ['profile', 'sig']) if (params.get(p)) extra[p] = params.get(p);
    if (el.dataset.verrijkLang) extra.lang = el.dataset.verrijkLang;
    let resume = store && store.getItem(saved) || '';
    let token; // the fill-time token of the first answer; it serves the whole response

    function show(body) {
      root.replaceChildren();
      token = body.token || token;
      if (body.resume_key) {
        resume = body.resume_key;
        if (store) store.setItem(saved, resume);
      }
      if (!body.page) {
        if (body.status === 'complete' && /^https?:\/\//i.test(body.redirect || '')) return location.assign(body.redirect);
        const end = h('div', {class: 'ok', role: 'status', tabindex: '-1', text: body.message});
        root.append(end);
        return end.focus();
      }
      const page = body.page;
      const form = h('form', {novalidate: true, lang: body.lang});
      const status = h('div', {class: 's bad', role: 'status', tabindex: '-1', text: (body.errors || {})[''] || ''});
      const errs = {};
      if (page.title) form.append(h('h2', {text: page.title}));
      page.items.forEach((item, n) => {
        if (item.type === 'html') {
          const box = h('div');
          box.innerHTML = item.html; // sanitised by the server; the only innerHTML in this file
          return form.append(box);
        }
        const [box, err] = control(item, n, page.values || {});
        errs[item.name] = err;
        form.append(box);
      });
      for (const [name, text] of Object.entries(body.errors || {})) {
        const err = errs[name] || errs[name.replace(/_(other|\d+)$/, '')];
        if (err) err.textContent = text;
      }
      // Forward first: Enter in a field sends the page forward, never back
      const button = h('button', {type: 'submit', text: page.last ? body.done_label : body.next_label});
      const back = page.back && h('button', {type: 'submit', name: '_back', value: '1', formnovalidate: true, text: body.back_label});
      // The captcha (when the answer starts a response) is solved while the visitor answers
      let solution = page.captcha_url && solve(page.captcha_url);
      if (solution) solution.catch(() => (solution = null));
      form.append(h('div', {class: 'hp', 'aria-hidden': 'true'}, h('input', {name: '_hp', tabindex: '-1'})), button, back, status);
      form.addEventListener('submit', async e => {
        e.preventDefault();
        button.disabled = true;
        if (back) back.disabled = true;
        const data = new FormData(form);
        if (e.submitter === back) data.set('_back', '1');
        for (const [p, v] of Object.entries({...hidden(), ...extra, r: resume, _page: page.index, _token: token})) data.set(p, v);
        try {
          if (page.captcha_url && e.submitter !== back) data.set('_altcha', await (solution || solve(page.captcha_url)));
          const res = await fetch(body.submit_url, {method: 'POST', body: data});
          const next = await res.json();
          if (next.status === 'invalid' && next.page && next.page.index === page.index) {
            const typed = {}; // errors to correct: what was typed stays
            for (const [k, v] of data) typed[k] = k in typed ? [].concat(typed[k], v) : v;
            next.page.values = typed;
          }
          if (next.page || next.status !== 'rejected') return show(next);
          solution = null; // a captcha solution serves once
          status.textContent = next.message; // refused: what was typed stays
        } catch (err) {
          status.textContent = el.dataset.verrijkNetworkMessage || 'The survey could not be sent. Check your connection.';
        }
        button.disabled = false;
        if (back) back.disabled = false;
        status.focus();
      });
      root.append(form);
      const first = root.querySelector('[aria-invalid], .e:not(:empty)');
      if (first) status.focus();
    }

    // Hidden fields: the host page's query, then data-verrijk-hidden-<name> (the server keeps the declared ones)
    function hidden() {
      const found = {};
      for (const [p, v] of params) if (!['profile', 'sig', 'r', 'lang'].includes(p)) found[p] = v;
      for (const [k, v] of Object.entries(el.dataset)) {
        if (k.startsWith('verrijkHidden')) found[k.slice(13).toLowerCase()] = v;
      }
      return found;
    }

    const url = new URL(base);
    for (const [p, v] of Object.entries({...hidden(), ...extra, r: resume})) if (v) url.searchParams.set(p, v);
    fetch(url).then(res => res.json()).then(show, () => {
      const hosted = `${origin}/s/${encodeURIComponent(key)}`; // the hosted page works without this script
      root.append(h('a', {href: hosted, text: hosted}));
    });
  }

  function render(target = document) {
    const els = target.matches?.('[data-verrijk-survey]') ? [target] : target.querySelectorAll('[data-verrijk-survey]');
    Array.from(els, mount);
  }

  window.VerrijkSurvey = {render};
  render();
})();
