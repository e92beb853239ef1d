/* The offline app's service worker (jianhu.web.offline): keeps the app's page and files so it
   opens with no signal. Pages are fetched from the network first (the latest forms) and kept;
   with no answer within a few seconds the kept copy is shown. Nothing of the API is kept here:
   records wait in IndexedDB (app.js). */
const CACHE = "jianhu-offline-__VERSION__";
const FILES = ["/static/jianhu.css", "/static/offline/app.js", "/static/vendor/idb/idb.umd.js",
               "/static/offline/icon-192.png", "/manifest.webmanifest"];
const PAGE = "/offline/";
const WAIT_MS = 5000;

self.addEventListener("install", (event) => {
  // the files, and the page the worker is signed in to (fetched with the session cookie)
  event.waitUntil(caches.open(CACHE).then(async (c) => {
    await c.addAll(FILES);
    try {
      const response = await fetch(PAGE, { credentials: "same-origin" });
      if (response.ok && !response.redirected) await c.put(PAGE, response);
    } catch (err) { /* kept on the next visit */ }
  }).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((k) => k.startsWith("jianhu-offline-") && k !== CACHE).map((k) => caches.delete(k))
  )).then(() => self.clients.claim()));
});

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await Promise.race([fetch(request), timeout(WAIT_MS)]);
    // a signed-in copy of the app only: not the sign-in page a redirect leads to
    if (response.ok && !response.redirected) await cache.put(PAGE, response.clone());
    return response;
  } catch (err) {
    const kept = await cache.match(PAGE);
    if (kept) return kept;
    throw err;
  }
}

async function file(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== "GET") return;
  if (url.pathname === PAGE) {
    event.respondWith(page(event.request));
  } else if (FILES.includes(url.pathname)) {
    event.respondWith(file(event.request));
  }
});
