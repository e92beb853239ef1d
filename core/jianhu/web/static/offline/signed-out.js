/* On the sign-in page: the offline app's copy of cases and tasks is cleared (the user is
   signed out); records waiting to be sent are kept (jianhu.web.offline). */
if (window.indexedDB && window.idb) {
  idb.openDB("jianhu-offline", 1, { upgrade: (db) => {
    db.createObjectStore("outbox", { keyPath: "id" });
    db.createObjectStore("cache");
    db.createObjectStore("meta");
  } }).then(async (db) => {
    const tx = db.transaction(["cache", "meta"], "readwrite");
    await tx.objectStore("cache").clear();
    await tx.objectStore("meta").delete("cacheKey");
    await tx.objectStore("meta").delete("session");
    await tx.done;
    document.documentElement.dataset.offlineCleared = "1";
  }).catch(() => {});
}
