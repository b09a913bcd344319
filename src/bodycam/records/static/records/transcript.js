(function () {
  const j = document.getElementById("job");
  if (!j) return;
  const poll = () => fetch(j.dataset.poll, {credentials: "same-origin"}).then(r => r.ok ? r.json() : null).then(s => {
    if (!s) return;
    j.querySelector("progress").value = s.progress; j.querySelector(".msg").textContent = s.message;
    if (s.status === "succeeded" || s.status === "failed") location.reload(); else setTimeout(poll, 1000);
  });
  poll();
})();
