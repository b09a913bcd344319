(function () {
  // The live player: one recvonly WebRTC connection to the server's relay (WHEP-like: our
  // offer in one POST, the answer back). H.264 only: the relay forwards the camera's own
  // packets. When the stream drops (camera out of coverage, reconnecting) it tries again
  // while the recording is on the air; a stopped recording ends it for good.
  const me = document.currentScript;
  const watchUrl = me.dataset.watch;
  const iceServers = JSON.parse(me.dataset.ice || "[]");
  const video = document.getElementById("live-video");
  const state = document.getElementById("live-state");
  const stopButton = document.getElementById("live-stop");
  const cookie = document.cookie.split("; ").find(c => c.startsWith("csrftoken="));
  const csrf = cookie ? cookie.split("=")[1] : "";
  let pc = null, viewer = null, stopped = false, retry = null;

  const say = text => { state.textContent = text; };

  function endUrl() { return `${watchUrl}/${viewer}/end`; }

  function tellEnd() {
    if (!viewer) return;
    fetch(endUrl(), {method: "POST", keepalive: true, credentials: "same-origin", headers: {"X-CSRFToken": csrf}});
    viewer = null;
  }

  function closePc() {
    if (pc) { pc.ontrack = null; pc.onconnectionstatechange = null; pc.close(); pc = null; }
  }

  function again(seconds, why) {
    closePc();
    if (stopped) return;
    say(`${why} Trying again in ${seconds} s…`);
    clearTimeout(retry);
    retry = setTimeout(connect, seconds * 1000);
  }

  function gathered(p) {
    if (p.iceGatheringState === "complete") return Promise.resolve();
    return new Promise(resolve => {
      const done = () => { if (p.iceGatheringState === "complete") resolve(); };
      p.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000);  // send what we have
    });
  }

  async function connect() {
    if (stopped) return;
    say("Connecting…");
    pc = new RTCPeerConnection({iceServers});
    const p = pc;
    const tr = pc.addTransceiver("video", {direction: "recvonly"});
    if (RTCRtpReceiver.getCapabilities && tr.setCodecPreferences) {
      const h264 = RTCRtpReceiver.getCapabilities("video").codecs.filter(
        c => c.mimeType.toLowerCase() === "video/h264" && /packetization-mode=1/.test(c.sdpFmtpLine || ""));
      if (h264.length) tr.setCodecPreferences(h264);
    }
    pc.ontrack = e => { video.srcObject = e.streams[0] || new MediaStream([e.track]); };
    pc.onconnectionstatechange = () => {
      if (p !== pc) return;
      if (p.connectionState === "connected") say("Live.");
      if (["failed", "closed", "disconnected"].includes(p.connectionState)) {
        viewer = null;
        again(3, "The stream stopped.");
      }
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const r = await fetch(watchUrl, {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
        body: JSON.stringify({sdp: pc.localDescription.sdp, type: "offer"})});
      const body = await r.json().catch(() => ({}));
      if (p !== pc) return;
      if (r.status === 409) { stopped = true; closePc(); say(body.error || "The recording has stopped."); return; }
      if (r.status === 403 || r.status === 404 || r.status === 400) { stopped = true; closePc(); say(body.error || `Refused (${r.status}).`); return; }
      if (!r.ok) { again(Number(r.headers.get("Retry-After")) || 5, body.error || `The server answered ${r.status}.`); return; }
      viewer = body.viewer;
      await pc.setRemoteDescription({type: "answer", sdp: body.sdp});
      say("Waiting for the picture…");
    } catch (err) {
      if (p === pc) again(5, "Could not connect.");
    }
  }

  stopButton.addEventListener("click", () => {
    stopped = true; clearTimeout(retry); tellEnd(); closePc(); video.srcObject = null;
    say("You stopped watching.");
  });
  window.addEventListener("pagehide", () => { tellEnd(); closePc(); });
  connect();
})();
