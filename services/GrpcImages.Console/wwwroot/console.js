// While a page is used (a click or a key within the last two minutes), tell the console so, at most every two
// minutes: the request renews the session's cookie. The session itself stays in an HttpOnly cookie.
(() => {
  let used = false;
  addEventListener('click', () => { used = true; }, true);
  addEventListener('keydown', () => { used = true; }, true);
  setInterval(async () => {
    if (!used) return;
    used = false;
    try {
      const response = await fetch('/session/keepalive', { method: 'POST', credentials: 'same-origin' });
      if (response.status === 401) location.assign('/signin?ended=1');
    } catch { /* the console is away: the page's own banner says so */ }
  }, 120000);
})();

// Uploads a file into a bucket in pieces through the console (POST /uploads, PUT /uploads/{id}?offset=), resuming
// from what the console has after a dropped connection. Reports progress to the page.
window.giUpload = async (input, region, bucket, name, page) => {
  const file = input.files[0];
  if (!file) throw new Error('no file');
  const piece = 8 * 1024 * 1024;
  const started = await fetch('/uploads', {
    method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ region, bucket, name, size: file.size }),
  });
  if (!started.ok) throw new Error(await started.text());
  const { id } = await started.json();
  let offset = 0, failures = 0;
  while (offset < file.size) {
    let response;
    try {
      response = await fetch(`/uploads/${id}?offset=${offset}`, {
        method: 'PUT', credentials: 'same-origin', body: file.slice(offset, Math.min(file.size, offset + piece)),
      });
    } catch (e) {
      // The connection dropped: wait, ask the console how much it has, and go on from there.
      if (++failures > 20) throw e;
      await new Promise(r => setTimeout(r, 500 * failures));
      try { offset = (await (await fetch(`/uploads/${id}`, { credentials: 'same-origin' })).json()).received; } catch { }
      continue;
    }
    if (response.ok || response.status === 409) {
      offset = (await response.json()).received; // 409: the console has another amount than sent from: resume from it
      failures = 0;
    } else {
      throw new Error(await response.text());
    }
    await page.invokeMethodAsync('Progress', offset, file.size);
  }
  const done = await fetch(`/uploads/${id}/complete`, { method: 'POST', credentials: 'same-origin' });
  if (!done.ok) throw new Error(await done.text());
  return await done.json();
};
