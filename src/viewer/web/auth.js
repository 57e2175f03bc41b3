// @ts-check
/**
 * The token (server.authToken): asked once, kept in this browser for this
 * server (localStorage is per origin), and carried by every data request:
 * the WebSocket (?token=, as browsers cannot set its headers), /api/stats
 * (Authorization: Bearer). Without a token configured on the server, none
 * of this asks anything.
 */

const KEY = 'neulens.token';

export class Auth {
  #token = '';
  /** @type {Promise<string> | null} */
  #asking = null;

  /** @param {boolean} required the server said so (/viewer/config.json) */
  constructor(required) {
    this.required = required;
    this.#token = required ? (localStorage.getItem(KEY) ?? '') : '';
  }

  get token() {
    return this.#token;
  }

  /** @returns {HeadersInit} */
  headers() {
    return this.#token ? { authorization: `Bearer ${this.#token}` } : {};
  }

  /** @returns {string} the query parameter the WebSocket URL carries ('' without a token) */
  query() {
    return this.#token ? `token=${encodeURIComponent(this.#token)}` : '';
  }

  /**
   * Resolves with a token the server accepts (checked on /api/stats), asking
   * the user until one is; '' when the server needs none. One question at a time.
   * @param {string} [why] shown above the field: why the page asks (again)
   * @returns {Promise<string>}
   */
  ensure(why) {
    if (!this.required) return Promise.resolve('');
    this.#asking ??= this.#ask(why).finally(() => {
      this.#asking = null;
    });
    return this.#asking;
  }

  /** The server refused the kept token: forget it and ask again. */
  refused() {
    this.#forget();
    return this.ensure('The server refused the kept token. Enter it again.');
  }

  forget() {
    this.#forget();
    return this.ensure();
  }

  #forget() {
    this.#token = '';
    localStorage.removeItem(KEY);
  }

  /** @param {string} [why] */
  async #ask(why) {
    if (this.#token && (await accepted(this.#token))) return this.#token;
    let message = why ?? (this.#token ? 'The kept token was refused.' : '');
    for (;;) {
      const token = await prompt(message);
      if (await accepted(token)) {
        this.#token = token;
        localStorage.setItem(KEY, token);
        return token;
      }
      message = 'The server refused that token.';
    }
  }
}

/**
 * @param {string} token
 * @returns {Promise<boolean>} whether /api/stats answers with it; a server that cannot answer (unreachable, 5xx) is asked again
 */
async function accepted(token) {
  for (;;) {
    try {
      const res = await fetch('/api/stats', { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
      if (res.status === 401) return false;
      if (res.ok) return true;
    } catch {
      // Not reachable (restarting?): ask again below.
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Shows the token dialog until the user submits a value.
 * @param {string} message
 * @returns {Promise<string>}
 */
function prompt(message) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('token-dialog'));
  const form = /** @type {HTMLFormElement} */ (document.getElementById('token-form'));
  const input = /** @type {HTMLInputElement} */ (document.getElementById('token-input'));
  const error = /** @type {HTMLElement} */ (document.getElementById('token-error'));
  error.textContent = message;
  error.hidden = !message;
  input.value = '';
  return new Promise((resolve) => {
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      dialog.close();
      resolve(value);
    };
    // The page shows nothing without the token: the dialog cannot be dismissed, only answered.
    dialog.oncancel = (ev) => ev.preventDefault();
    dialog.showModal();
    input.focus();
  });
}
