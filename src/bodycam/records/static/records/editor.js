(function () {
  const me = document.currentScript.dataset;
  // URLs come from the template ({% url %}); a job's URL is made from its pattern.
  const API = me.api, RENDER = me.render, JOB = me.job || "", STATUS = me.status;
  const jobUrl = id => me.jobUrl.replace(/JOB$/, encodeURIComponent(id));
  const csrf = document.cookie.split("; ").find(c => c.startsWith("csrftoken="));
  const token = csrf ? csrf.split("=")[1] : "";
  const plan = JSON.parse(document.getElementById("plan-data").textContent || "{}");
  const v = document.getElementById("v"), cv = document.getElementById("overlay"), ctx = cv.getContext("2d");
  const fps = plan.fps || 30, step = plan.step || 5, frames = plan.frames || 1;
  const W = plan.width || 640, H = plan.height || 360;
  const err = m => { document.getElementById("error").textContent = m || ""; };
  const changes = {tracks: {}, add_tracks: [], remove_tracks: []};
  let audio = (plan.audio || []).slice();
  document.getElementById("method").value = plan.method || "blur";
  document.getElementById("reason").value = plan.reason || "";
  cv.width = W; cv.height = H;

  function boxAt(t, f) {
    const k = t.keys, pad = t.pad !== undefined ? t.pad : step;
    if (!k.length || f < k[0][0] - pad || f > k[k.length - 1][0] + pad) return null;
    // Past either end: carried on at the track's speed, as the render does (redact.box_at).
    const on = (e, o) => { const x = (f - e[0]) / Math.max(1, Math.abs(e[0] - o[0])); return [1, 2, 3, 4].map(j => e[j] + (e[j] - o[j]) * x); };
    if (f <= k[0][0]) return k.length > 1 ? on(k[0], k[1]) : k[0].slice(1, 5);
    if (f >= k[k.length - 1][0]) return k.length > 1 ? on(k[k.length - 1], k[k.length - 2]) : k[k.length - 1].slice(1, 5);
    for (let i = 1; i < k.length; i++) if (k[i][0] >= f) {
      const a = k[i - 1], b = k[i], x = (f - a[0]) / Math.max(1, b[0] - a[0]);
      return [1, 2, 3, 4].map(j => a[j] + (b[j] - a[j]) * x);
    }
    return null;
  }
  const frameNow = () => Math.round(v.currentTime * fps);
  const preview = document.getElementById("preview"), methodSel = document.getElementById("method");
  const scratch = document.createElement("canvas"), sctx = scratch.getContext("2d");
  // The box the render masks: automatic tracks grow by 25 % on every side (redact.dilate).
  function dilated(t, b) {
    const d = t.source === "auto" ? 0.25 : 0, dx = (b[2] - b[0]) * d, dy = (b[3] - b[1]) * d;
    return [Math.max(0, b[0] - dx), Math.max(0, b[1] - dy), Math.min(W, b[2] + dx), Math.min(H, b[3] + dy)].map(Math.round);
  }
  // The chosen method drawn from the playing video into the box (what the render will write).
  function mask(t, b) {
    const m = t.method || methodSel.value, bw = b[2] - b[0], bh = b[3] - b[1];
    if (bw < 2 || bh < 2) return;
    if (m === "fill") { ctx.fillStyle = "#000"; ctx.fillRect(b[0], b[1], bw, bh); return; }
    if (!v.videoWidth) return;
    const sx = v.videoWidth / W, sy = v.videoHeight / H;
    if (m === "pixelate") {  // 12 blocks across the larger side, as the render
      scratch.width = Math.max(1, Math.round(bw / Math.max(1, Math.floor(bw / 12))));
      scratch.height = Math.max(1, Math.round(bh / Math.max(1, Math.floor(bh / 12))));
      sctx.imageSmoothingEnabled = true;
      sctx.drawImage(v, b[0] * sx, b[1] * sy, bw * sx, bh * sy, 0, 0, scratch.width, scratch.height);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(scratch, 0, 0, scratch.width, scratch.height, b[0], b[1], bw, bh);
      ctx.imageSmoothingEnabled = true;
      return;
    }
    const r = Math.max(2, Math.round(Math.max(bw, bh) / 6));  // blur: about the render's strength
    ctx.save(); ctx.beginPath(); ctx.rect(b[0], b[1], bw, bh); ctx.clip();
    ctx.filter = "blur(" + r + "px)";
    const x0 = Math.max(0, b[0] - r), y0 = Math.max(0, b[1] - r), x1 = Math.min(W, b[2] + r), y1 = Math.min(H, b[3] + r);
    ctx.drawImage(v, x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy, x0, y0, x1 - x0, y1 - y0);
    ctx.restore();
  }
  let drag = null, drawn = null;
  function draw() {
    const f = frameNow(), live = preview && preview.checked;
    ctx.clearRect(0, 0, W, H);
    (plan.tracks || []).forEach(t => {
      const b = boxAt(t, f); if (!b) return;
      const on = t.enabled !== false;
      if (on && live) mask(t, dilated(t, b));
      ctx.strokeStyle = on ? "#ff3030" : "#9aa"; ctx.lineWidth = live ? 1 : 3; ctx.setLineDash(on ? [] : [6, 4]);
      ctx.strokeRect(b[0], b[1], b[2] - b[0], b[3] - b[1]);
      if (!live) { ctx.fillStyle = on ? "rgba(255,48,48,.25)" : "rgba(0,0,0,0)"; ctx.fillRect(b[0], b[1], b[2] - b[0], b[3] - b[1]); }
      ctx.setLineDash([]); ctx.fillStyle = "#fff"; ctx.font = "16px sans-serif"; ctx.fillText(t.id, b[0] + 3, b[1] + 16);
    });
    const r = drag || drawn;
    if (r) { ctx.strokeStyle = "#ffd400"; ctx.lineWidth = 2; ctx.strokeRect(r[0], r[1], r[2] - r[0], r[3] - r[1]); }
    document.getElementById("clock").textContent = v.currentTime.toFixed(2) + " s · frame " + f;
    document.querySelectorAll(".lane .head").forEach(h => { h.style.left = (100 * f / frames) + "%"; });
  }
  v.addEventListener("timeupdate", draw); v.addEventListener("seeked", draw); v.addEventListener("loadeddata", draw);
  if (preview) preview.addEventListener("change", draw);
  methodSel.addEventListener("change", draw);
  (function loop() { if (!v.paused) draw(); requestAnimationFrame(loop); })();

  const pos = e => { const r = cv.getBoundingClientRect(); return [(e.clientX - r.left) * W / r.width, (e.clientY - r.top) * H / r.height]; };
  cv.addEventListener("mousedown", e => { const p = pos(e); drag = [p[0], p[1], p[0], p[1]]; v.pause(); });
  cv.addEventListener("mousemove", e => { if (!drag) return; const p = pos(e); drag[2] = p[0]; drag[3] = p[1]; draw(); });
  cv.addEventListener("mouseup", () => {
    if (!drag) return;
    const b = [Math.min(drag[0], drag[2]), Math.min(drag[1], drag[3]), Math.max(drag[0], drag[2]), Math.max(drag[1], drag[3])].map(Math.round);
    drag = null;
    if (b[2] - b[0] < 4 || b[3] - b[1] < 4) return;
    drawn = b; document.getElementById("mb-box").textContent = b.join(", ");
    const from = document.getElementById("mb-from"), to = document.getElementById("mb-to");
    if (!from.value) from.value = v.currentTime.toFixed(2);
    if (!to.value) to.value = Math.min(frames / fps, v.currentTime + 2).toFixed(2);
    document.getElementById("mb-add").disabled = false; draw();
  });
  document.getElementById("mb-add").addEventListener("click", () => {
    const f0 = Math.round(parseFloat(document.getElementById("mb-from").value) * fps), f1 = Math.round(parseFloat(document.getElementById("mb-to").value) * fps);
    if (!(f1 >= f0) || !drawn) { err("Give a box and a time range (from ≤ to)."); return; }
    const t = {id: "new" + (changes.add_tracks.length + 1), label: document.getElementById("mb-label").value, source: "manual", enabled: true, pad: 0,
               keys: [[f0, ...drawn], [f1, ...drawn]], reason: document.getElementById("mb-reason").value};
    changes.add_tracks.push({label: t.label, keys: t.keys, reason: t.reason});
    plan.tracks.push(t); drawn = null; document.getElementById("mb-box").textContent = "";
    document.getElementById("mb-add").disabled = true; renderTracks(); draw();
  });

  function renderTracks() {
    const box = document.getElementById("tracks"); box.textContent = "";
    if (!(plan.tracks || []).length) { box.textContent = STATUS === "analyzing" ? "Finding faces and plates…" : "No faces or plates found: add boxes by hand on the video."; return; }
    plan.tracks.forEach(t => {
      const row = document.createElement("div"); row.className = "track"; row.dataset.track = t.id;
      const on = document.createElement("input"); on.type = "checkbox"; on.checked = t.enabled !== false;
      on.setAttribute("aria-label", "Redact track " + t.id);
      on.addEventListener("change", () => { t.enabled = on.checked; (changes.tracks[t.id] = changes.tracks[t.id] || {id: t.id}).enabled = on.checked; renderTracks(); draw(); });
      const name = document.createElement("span"); name.textContent = t.id + " " + (t.label || "") + (t.source === "auto" ? " (" + (t.score || "") + ")" : " (manual)");
      if (t.label === "plate" && t.text) {  // the machine's reading, labelled as such
        const read = document.createElement("small"); read.className = "machine-read"; read.title = "read by machine, not verified by a person";
        read.textContent = " " + t.text + " · machine reading"; name.append(read);
      }
      const lane = document.createElement("div"); lane.className = "lane";
      const bar = document.createElement("div"); bar.className = "bar" + (t.enabled === false ? " off" : "");
      const f0 = t.keys[0][0], f1 = t.keys[t.keys.length - 1][0];
      bar.style.left = (100 * f0 / frames) + "%"; bar.style.width = Math.max(0.5, 100 * (f1 - f0 + 1) / frames) + "%";
      bar.title = "frames " + f0 + "–" + f1; bar.addEventListener("click", () => { v.currentTime = f0 / fps + 0.001; });
      const head = document.createElement("div"); head.className = "head";
      lane.append(bar, head);
      const reason = document.createElement("input"); reason.size = 18; reason.placeholder = "reason"; reason.value = t.reason || "";
      reason.setAttribute("aria-label", "Reason for track " + t.id);
      reason.addEventListener("change", () => { t.reason = reason.value; if (t.id.startsWith("new")) { changes.add_tracks[parseInt(t.id.slice(3)) - 1].reason = reason.value; } else (changes.tracks[t.id] = changes.tracks[t.id] || {id: t.id}).reason = reason.value; });
      row.append(on, name, lane, reason);
      box.append(row);
    });
  }
  function renderAudio() {
    const ul = document.getElementById("audio"); ul.textContent = "";
    audio.forEach((a, i) => {
      const li = document.createElement("li");
      li.textContent = a.mode + " " + Number(a.start).toFixed(2) + "–" + Number(a.end).toFixed(2) + " s " + (a.words ? "“" + a.words + "” " : "") + (a.reason ? "— " + a.reason + " " : "");
      const x = document.createElement("button"); x.type = "button"; x.textContent = "remove";
      x.addEventListener("click", () => { audio.splice(i, 1); renderAudio(); });
      li.append(x); ul.append(li);
    });
  }
  function addWords(mode) {
    const picked = [...document.querySelectorAll("#words input:checked")];
    if (!picked.length) { err("Pick words first."); return; }
    let cur = null;
    const reason = document.getElementById("audio-reason").value;
    picked.forEach(c => {
      const s = parseFloat(c.dataset.start), e = parseFloat(c.dataset.end);
      if (cur && s - cur.end < 0.3) { cur.end = e; cur.words += " " + c.dataset.word; }
      else { cur = {start: s, end: e, mode: mode, reason: reason, words: c.dataset.word}; audio.push(cur); }
      c.checked = false;
    });
    renderAudio(); err("");
  }
  const mute = document.getElementById("mute"), bleep = document.getElementById("bleep");
  if (mute) mute.addEventListener("click", () => addWords("mute"));
  if (bleep) bleep.addEventListener("click", () => addWords("bleep"));
  document.getElementById("ar-add").addEventListener("click", () => {
    const s = parseFloat(document.getElementById("ar-from").value), e = parseFloat(document.getElementById("ar-to").value);
    if (!(e > s && s >= 0)) { err("Give 0 ≤ from < to."); return; }
    audio.push({start: s, end: e, mode: "mute", reason: document.getElementById("reason").value, words: ""}); renderAudio();
  });

  function body() {
    return {method: document.getElementById("method").value, reason: document.getElementById("reason").value,
            tracks: Object.values(changes.tracks), add_tracks: changes.add_tracks, remove_tracks: changes.remove_tracks, audio: audio};
  }
  const call = (method, url, data) => fetch(url, {method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token}, body: data ? JSON.stringify(data) : undefined})
    .then(r => r.json().then(j => { if (!r.ok) throw new Error(typeof j.error === "string" ? j.error : JSON.stringify(j.error)); return j; }));
  function save() {
    return call("PATCH", API, body()).then(j => {
      changes.tracks = {}; changes.add_tracks = []; Object.assign(plan, j.plan); renderTracks(); err(""); return j;
    });
  }
  document.getElementById("save").addEventListener("click", () => save().then(() => { document.getElementById("status").textContent = "saved"; }).catch(e => err(e.message)));
  document.getElementById("render").addEventListener("click", () => save().then(() => call("POST", RENDER))
    .then(j => { document.getElementById("status").textContent = j.status; poll(j.render_job); }).catch(e => err(e.message)));

  function poll(job) {
    if (!job) return;
    document.getElementById("progress-wrap").hidden = false;
    fetch(jobUrl(job), {credentials: "same-origin"}).then(r => r.ok ? r.json() : null).then(s => {
      if (!s) return;
      document.getElementById("progress").value = s.progress; document.getElementById("progress-msg").textContent = s.message || s.status;
      if (s.status === "succeeded" || s.status === "failed") location.reload(); else setTimeout(() => poll(job), 1000);
    });
  }
  renderTracks(); renderAudio();
  if (STATUS === "analyzing" || STATUS === "rendering") poll(JOB);
})();
