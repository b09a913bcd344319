(function () {
  // One recording, one timeline: the recording's clips play back to back in one <video>. Each
  // clip plays from its own source (its playback proxy, /api/evidence/<clip>/proxy: its own
  // access check and playback audit); the player switches source at a clip's end or when a seek
  // lands in another clip. Every time on this page (bar, bookmarks, transcript, map, in/out) is
  // seconds from the recording's start ("recording time").
  const v = document.getElementById("player");
  const clock = document.getElementById("clock");
  const data = document.currentScript.dataset;
  const tl = JSON.parse(data.timeline);
  const segs = tl.segments, total = tl.duration || 0;
  let cur = Math.min(tl.start || 0, Math.max(0, segs.length - 1));
  let original = false;  // "Play the original" (offered only to those who may download)
  const FRAME = 1 / 30;
  const now = () => (segs.length ? segs[cur].offset : 0) + (v.currentTime || 0);
  const srcOf = s => (original && s.original) ? s.original : s.src;
  const clipNow = document.getElementById("clip-now");

  function setTracks(seg) {
    const showing = [...v.textTracks].some(t => t.mode === "showing");
    v.querySelectorAll("track").forEach(t => t.remove());
    (seg.tracks || []).forEach((t, i) => {
      const el = document.createElement("track");
      el.kind = "captions"; el.srclang = t.srclang || "en"; el.label = t.label || "Transcript"; el.src = t.src;
      if (i === 0) el.default = true;
      v.appendChild(el);
      if (i === 0 && showing) el.track.mode = "showing";
    });
  }

  // Play clip i from `at` seconds into it (play: whether to play on).
  function load(i, at, play) {
    cur = i;
    const seg = segs[i];
    v.src = srcOf(seg);
    v.dataset.clip = seg.id;
    setTracks(seg);
    if (clipNow) clipNow.textContent = `clip ${i + 1} of ${segs.length}`;
    v.addEventListener("loadedmetadata", () => {
      v.currentTime = Math.max(0, at);
      if (play) v.play();
    }, {once: true});
  }

  // Seek to recording time t: in this clip, or load the clip that holds it.
  function seek(t) {
    if (!segs.length) return;
    t = Math.max(0, Math.min(t, total));
    let i = segs.findIndex(s => t >= s.offset && t < s.offset + s.duration);
    if (i < 0) i = t <= 0 ? 0 : segs.length - 1;
    const local = Math.min(Math.max(0, t - segs[i].offset), segs[i].duration);
    if (i === cur) v.currentTime = local;
    else load(i, local, !v.paused);
  }
  v.addEventListener("ended", () => { if (cur + 1 < segs.length) load(cur + 1, 0, true); });

  // The bar: pre-event buffer, clip boundaries, bookmarks, where playback is; a click seeks.
  const bar = document.getElementById("markers");
  const frac = t => total > 0 ? Math.min(1, Math.max(0, t / total)) : 0;
  const place = () => {
    bar.querySelectorAll(".marker, .boundary").forEach(b => {
      b.style.left = `calc((100% - ${b.offsetWidth || 6}px) * ${frac(parseFloat(b.dataset.at))})`;
    });
    const pre = document.getElementById("pre-event");
    if (pre) pre.style.width = `${frac(parseFloat(pre.dataset.end)) * 100}%`;
  };
  place();
  const head = document.getElementById("playhead");
  bar.addEventListener("click", e => {
    if (e.target.closest(".marker")) return;
    const r = bar.getBoundingClientRect();
    if (r.width > 0) { seek((e.clientX - r.left) / r.width * total); v.focus(); }
  });
  document.querySelectorAll(".seek, .marker").forEach(b => b.addEventListener("click", e => {
    e.stopPropagation(); seek(parseFloat(b.dataset.at)); v.focus();
  }));
  document.querySelectorAll("[data-skip]").forEach(b => b.addEventListener("click", () => seek(now() + parseFloat(b.dataset.skip))));
  document.querySelectorAll("[data-frame]").forEach(b => b.addEventListener("click", () => { v.pause(); seek(now() + FRAME * parseFloat(b.dataset.frame)); }));
  const toggle = () => v.paused ? v.play() : v.pause();
  document.getElementById("play").addEventListener("click", toggle);
  document.getElementById("rate").addEventListener("change", e => { v.playbackRate = parseFloat(e.target.value); });
  v.addEventListener("loadedmetadata", () => { v.playbackRate = parseFloat(document.getElementById("rate").value); });
  const orig = document.getElementById("toggle-original");
  if (orig) orig.addEventListener("click", () => {
    original = !original;
    document.getElementById("rendition").textContent = original ? "original" : "proxy";
    orig.textContent = original ? "Play the proxy" : "Play the original";
    load(cur, v.currentTime, !v.paused);
  });
  const setIn = document.getElementById("set-in"), setOut = document.getElementById("set-out");
  if (setIn) setIn.addEventListener("click", () => { document.getElementById("in").value = now().toFixed(2); });
  if (setOut) setOut.addEventListener("click", () => { document.getElementById("out").value = now().toFixed(2); });
  document.addEventListener("keydown", e => {
    if (e.target.closest("input, textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
    const k = e.key;
    if (k === " " && e.target === v) return;  // the video's own control handles it
    if (k === "k" || k === " ") { toggle(); e.preventDefault(); }
    else if (k === "j") seek(now() - 5);
    else if (k === "l") seek(now() + 5);
    else if (k === "ArrowLeft" && e.target !== v) seek(now() - 1);
    else if (k === "ArrowRight" && e.target !== v) seek(now() + 1);
    else if (k === ",") { v.pause(); seek(now() - FRAME); }
    else if (k === ".") { v.pause(); seek(now() + FRAME); }
    else if (k === "i" && setIn) setIn.click();
    else if (k === "o" && setOut) setOut.click();
  });
  // GNSS track as a plain plot (no map tiles): x = longitude, y = latitude, equal scale.
  const track = JSON.parse(data.track);
  let at = () => {};
  if (track.length > 1 && document.getElementById("map")) {
    const lats = track.map(p => p[0]), lons = track.map(p => p[1]);
    const lat0 = Math.min(...lats), lat1 = Math.max(...lats), lon0 = Math.min(...lons), lon1 = Math.max(...lons);
    const k = Math.cos((lat0 + lat1) / 2 * Math.PI / 180);
    const span = Math.max((lon1 - lon0) * k, lat1 - lat0, 1e-6);
    const xy = p => [20 + ((p[1] - lon0) * k) / span * 260, 180 - (p[0] - lat0) / span * 160];
    document.getElementById("track").setAttribute("points", track.map(p => xy(p).join(",")).join(" "));
    const pos = document.getElementById("pos"), label = document.getElementById("latlon");
    at = t => {
      let p = track[0];
      for (const q of track) { if (q[2] <= t) p = q; else break; }
      const [x, y] = xy(p);
      pos.setAttribute("cx", x); pos.setAttribute("cy", y);
      label.textContent = p[0].toFixed(5) + ", " + p[1].toFixed(5);
    };
  }
  // Transcript lines (buttons of class "seek": a click plays from the line) follow playback.
  const lines = [...document.querySelectorAll("#transcript-lines li")];
  const follow = t => {
    let c = null;
    for (const li of lines) { if (parseFloat(li.querySelector("button").dataset.at) <= t) c = li; else break; }
    lines.forEach(li => li.classList.toggle("current", li === c));
  };
  const show = () => {
    const t = now();
    clock.textContent = t.toFixed(1) + " s";
    if (head) head.style.left = `${frac(t) * 100}%`;
    at(t);
    if (lines.length) follow(t);
  };
  v.addEventListener("timeupdate", show);
  v.addEventListener("seeked", show);
  // The page opened on a clip that is not the first: start there.
  if (segs.length && segs[cur].offset > 0) v.addEventListener("loadedmetadata", show, {once: true});
  show();
  // For tests and tools: where the recording is (recording time, the clip playing, its source).
  window.bodycamPlayer = {
    state: () => ({t: now(), index: cur, clip: segs.length ? segs[cur].id : null, src: v.currentSrc,
                   paused: v.paused, duration: total}),
    seek,
  };
  // Progress of clips being made (long jobs).
  document.querySelectorAll("li.job").forEach(li => {
    const poll = () => fetch(li.dataset.poll).then(r => r.json()).then(j => {
      li.querySelector("progress").value = j.progress || 0;
      if (j.status === "succeeded") location.reload();
      else if (j.status === "failed") li.textContent = "Clip failed: " + j.error;
      else setTimeout(poll, 1000);
    });
    poll();
  });
})();
