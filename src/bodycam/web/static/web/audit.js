// The audit page's job box: poll /api/jobs/ID, move the progress bar, then show the result
// (reload: the page renders the verify result and the export's download link).
(function () {
  const box = document.getElementById("job");
  if (!box || box.dataset.status === "succeeded" || box.dataset.status === "failed") return;
  const bar = box.querySelector("progress"), msg = box.querySelector(".msg");
  const poll = () => fetch(box.dataset.poll, {credentials: "same-origin"})
    .then(r => r.ok ? r.json() : null)
    .then(s => {
      if (!s) { setTimeout(poll, 3000); return; }
      bar.value = s.progress; msg.textContent = s.message || s.status;
      if (s.status === "succeeded" || s.status === "failed") location.reload();
      else setTimeout(poll, 700);
    })
    .catch(() => setTimeout(poll, 3000));
  poll();
})();
