// The panel's safety net, a classic script that runs before the modules: when the module graph
// cannot be loaded (a dropped connection, a network change), the page reloads once by itself,
// and if that fails too it says so with a button instead of staying blank.
(() => {
  'use strict';
  const key = 'backpack-panel-reloaded';
  const app = document.getElementById('app-module');
  if (!app) return;
  app.addEventListener('error', () => {
    if (sessionStorage.getItem(key) !== '1') {
      sessionStorage.setItem(key, '1');
      location.reload();
      return;
    }
    sessionStorage.removeItem(key);
    const main = document.getElementById('main');
    const p = document.createElement('p');
    p.className = 'error';
    p.setAttribute('role', 'alert');
    p.textContent = 'The admin panel could not be loaded: the connection to the Backpack server failed. Check your connection, then reload.';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'btn primary';
    button.textContent = 'Reload';
    button.addEventListener('click', () => location.reload());
    main.replaceChildren(p, button);
  });
})();
