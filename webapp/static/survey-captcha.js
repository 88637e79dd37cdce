/* Verrijk survey-captcha.js: the hosted survey page's anti-spam check (the web forms' ALTCHA proof of work),
 * loaded only when the page asks for one. It solves the challenge while the visitor answers and puts the
 * solution in the page's _altcha input before it is sent. Docs: docs/surveys.md. */
(() => {
  'use strict';
  const form = document.querySelector('form[data-captcha-url]');
  if (!form) return;
  const input = form.querySelector('input[name="_altcha"]');
  const hex = buffer => Array.from(new Uint8Array(buffer), b => b.toString(16).padStart(2, '0')).join('');

  // n with SHA-256(salt + n) = challenge, hashed in batches
  async function solve() {
    const c = await (await fetch(form.dataset.captchaUrl, {cache: 'no-store'})).json();
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

  // Solved while the visitor answers; a page sent before that waits for it (the back button never does)
  const start = () => solve().then(found => (input.value = found));
  let solution = start();
  solution.catch(() => {});
  form.addEventListener('submit', async e => {
    if (input.value || (e.submitter && e.submitter.name === '_back')) return;
    e.preventDefault();
    try {
      await solution;
    } catch (err) {
      solution = start();
      return;
    }
    HTMLFormElement.prototype.submit.call(form); // the forward button has no name: nothing of it is lost
  });
})();
