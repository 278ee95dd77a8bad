// Classroom rooms on the page: open one (code, join link, QR, followers), join one, the
// read-only banner of a follower with fork/follow; the challenge is contest.js's. Text from the
// server goes in as text, never HTML.

import { Contest } from "./contest.js";
import { button, element, hiddenForm, labelled } from "./dom.js";
import { $, showError, showNotice } from "./notices.js";
import { isRecurrentReply } from "./recurrentView.js";

const SAVED = "backprop-lab-room"; // sessionStorage: survives a reload of this tab only
const ROOM_FIELDS = new Set(["room", "code", "token", "join", "name", "goal", "seconds", "accuracy"]);

export class Room {
  /** Parts: the `store` (the run, its lesson, hello's challenge options), `send(message)`, the
   * `selection` (a follower's inspector shows the teacher's), `showLesson(id)` (a follower's
   * page shows the text of the teacher's lesson) and `dropPendingFrames()` (the loop's: a new
   * role shows another run). Its messages reach it through `withRoomHandlers`. */
  constructor({ store, send, selection, showLesson, dropPendingFrames }) {
    Object.assign(this, { store, send, selection, showLesson, dropPendingFrames });
    this.role = null;
    this.code = null;
    this.spoken = "";
    this.name = "";
    this.members = 0;
    this.showing = null;
    this.askedToFollow = false; // a join or follow sent, not answered yet
    this.offReason = document.body.dataset.roomsOff || "";
    this.linkCode = document.body.dataset.roomCode || "";
    this.bar = $("room");
    this.banner = $("room-banner");
    this.card = this.buildCard();
    this.joinForm = this.buildJoinForm();
    this.contest = new Contest({ send, role: () => this.role, options: () => store.hello.challenge });
    document.body.append(this.card, this.joinForm, this.contest.board, this.contest.form);
    keepBelowTopBar(this.bar.closest("header"));
    this.render();
    if (this.offReason) showNotice(this.offReason, 15000);
  }

  // ------------------------------------------------------------------ messages

  /** Whether the page follows the teacher's run (read-only), or has asked to: the server
   * takes what the page sends after a join or follow as a follower's, and refuses it. */
  get following() {
    return this.role === "follower" || this.askedToFollow;
  }

  /** Sends a join or follow; until the reply (or an error) the page holds back its own asks. */
  askToFollow(message) {
    if (this.send(message)) this.askedToFollow = true;
  }

  /** The page's text handlers with the room's messages added; after hello, state and error the
   * room has its word too, and a follower's inspector shows the weight the teacher inspects. */
  withRoomHandlers(handlers) {
    return {
      ...handlers,
      hello: (message) => {
        handlers.hello(message);
        this.joinForm.querySelector("[data-testid=join-name]").maxLength = message.limits.max_name_chars;
        this.connected();
      },
      // The lesson the teacher's page shows goes to the room; a follower's page shows its text.
      state: (message) => {
        handlers.state(message);
        this.shareLesson();
      },
      error: (message) => {
        this.askedToFollow = false; // perhaps the join's refusal: the role says again
        handlers.error(message);
        if (ROOM_FIELDS.has(message.field)) this.refused(message);
      },
      // A recurrent reply needs no selection of ours: the inspector shows it as it comes.
      inspect: (reply) =>
        this.following && !isRecurrentReply(reply) ? this.followInspect(reply) : handlers.inspect(reply),
      lesson: (message) => {
        if (this.following && message.id) this.showLesson(message.id);
      },
      room: (message) => this.roomMessage(message),
      room_members: (message) => this.setMembers(message.count),
      room_closed: (message) => this.closed(message.reason),
      challenge: (message) => this.contest.setChallenge(message),
      leaderboard: (message) => this.contest.setBoard(message),
    };
  }

  /** The teacher's inspector on a follower's page: the same weight, bias or neuron. */
  followInspect(reply) {
    const { selection, store } = this;
    const target = { kind: reply.kind, layer: reply.layer, j: reply.j };
    if (reply.kind === "weight") target.i = reply.i;
    const current = store.selection;
    const same = current && ["kind", "layer", "i", "j"].every((key) => current[key] === target[key]);
    if (!same) selection.select(target);
    selection.receive(reply);
  }

  /** Teacher: tells the room when the page's lesson changed (a lesson loads a new run). */
  shareLesson() {
    const lesson = this.store.view.lesson ?? null;
    if (this.role !== "teacher" || lesson === this.sharedLesson) return;
    this.sharedLesson = lesson;
    this.send({ type: "room_lesson", lesson });
  }

  /** After every hello (first load, reload, reconnect): take our place in the room again. */
  connected() {
    this.askedToFollow = false; // a new connection: nothing asked on it yet
    if (this.offReason) return;
    const saved = this.saved();
    if (saved?.token) this.send({ type: "room_open", code: saved.code, token: saved.token });
    else if (saved?.name) this.askToFollow({ type: "join", code: saved.code, name: saved.name });
    else if (this.linkCode && !this.role) this.openJoinForm(this.linkCode);
  }

  roomMessage(message) {
    // Following, forking and leaving change which run the page shows; opening a room does not.
    const student = (role) => role === "follower" || role === "fork";
    if (message.role !== this.role && (student(message.role) || student(this.role))) this.restart();
    this.role = message.role;
    this.askedToFollow = false;
    this.code = message.code ?? null;
    this.spoken = message.spoken ?? "";
    if (message.name) this.name = message.name;
    if (message.token) this.save({ code: this.code, token: message.token });
    if (message.role === "follower" || message.role === "fork") this.save({ code: this.code, name: this.name });
    if (message.role === null) this.forget();
    if (message.role === "teacher") {
      this.setRoomLinks(message);
      this.sharedLesson = undefined; // a new or reclaimed room hears the lesson afresh
      this.shareLesson();
    }
    if ("showing" in message) this.showing = message.showing;
    if (message.message) showNotice(message.message, 8000);
    if (message.role === "teacher" && message.token) this.card.hidden = false;
    this.render();
  }

  /** A new role shows another run: the page forgets the old one's history and waits for the
   * `state` that follows (frames of any other run are dropped meanwhile). */
  restart() {
    this.store.clearHistory();
    this.store.run = null;
    this.dropPendingFrames();
  }

  refused(message) {
    if (message.field === "token" || (message.field === "code" && !this.role)) this.forget();
    if (!this.role && this.linkCode) this.openJoinForm(this.linkCode);
  }

  closed(reason) {
    this.forget();
    this.restart();
    this.role = null;
    this.askedToFollow = false;
    this.code = null;
    this.contest.setChallenge({ goal: null });
    showError(`Room closed: ${reason}`);
    this.render();
  }

  saved() {
    try {
      return JSON.parse(sessionStorage.getItem(SAVED) ?? "null");
    } catch {
      return null;
    }
  }

  save(value) {
    sessionStorage.setItem(SAVED, JSON.stringify(value));
  }

  forget() {
    sessionStorage.removeItem(SAVED);
  }

  // ------------------------------------------------------------------ the top bar and banner

  render() {
    const { bar, role } = this;
    bar.replaceChildren();
    document.body.classList.toggle("room-following", role === "follower");
    if (this.offReason) {
      const off = element("span", "room-off", "rooms off");
      off.title = this.offReason;
      off.dataset.testid = "rooms-off";
      bar.append(off);
    } else if (role === "teacher") {
      // The code and the students count in one badge: the top bar stays one line at 1280 px.
      const code = button(this.spoken, "room-code", () => (this.card.hidden = false), "room-badge");
      code.title = "The room: join link and QR code, challenge, close";
      const members = element("span", "room-members", String(this.members));
      members.dataset.testid = "room-members";
      members.title = "students in the room";
      code.append(members);
      bar.append(code);
      if (this.showing) bar.append(button("My run", "room-show-own", () => this.send({ type: "show", member: null })));
    } else if (role === "follower" || role === "fork") {
      bar.append(element("span", "room-badge", this.spoken));
    } else {
      bar.append(
        button("Open room", "room-open", () => this.send({ type: "room_open" })),
        button("Join", "room-join", () => this.openJoinForm("")),
      );
    }
    this.renderBanner();
  }

  renderBanner() {
    const { banner, role } = this;
    banner.replaceChildren();
    banner.hidden = !(role === "follower" || role === "fork" || (role === "teacher" && this.showing));
    document.body.classList.toggle("room-banner-shown", !banner.hidden); // room.css leaves it room
    if (role === "follower") {
      banner.append(
        element("span", "", `Following the teacher's run in room ${this.spoken}: read-only here. `),
        button("Fork", "room-fork", () => this.send({ type: "fork" })),
        element("span", "", " to try your own changes on an exact copy. "),
        button("Leave", "room-leave", () => this.send({ type: "leave" })),
      );
    } else if (role === "fork") {
      banner.append(
        element("span", "", `Your own copy of the teacher's run (room ${this.spoken}), ${this.name}. `),
        button("Follow", "room-follow", () => this.askToFollow({ type: "follow" })),
        element("span", "", " to watch the teacher again. "),
        button("Leave", "room-leave", () => this.send({ type: "leave" })),
      );
    } else if (role === "teacher" && this.showing) {
      banner.append(element("span", "", `On the projector: ${this.showing}'s network (a copy). `));
    }
  }

  setMembers(count) {
    this.members = count;
    const node = $("room-members");
    if (node) node.textContent = String(count);
    const big = this.card.querySelector(".room-card-members");
    big.textContent = `${count} following`;
  }

  // ------------------------------------------------------------------ the join card (teacher)

  buildCard() {
    const card = element("section", "room-card");
    card.dataset.testid = "room-card";
    card.hidden = true;
    const qr = element("img", "room-qr");
    qr.dataset.testid = "room-qr";
    qr.alt = "QR code of the join link";
    const text = element("div", "room-card-text");
    text.append(
      element("div", "room-card-label", "Join at"),
      element("div", "room-card-url"),
      element("div", "room-card-label", "or type the code"),
      element("div", "room-card-code"),
      element("div", "room-card-local"),
      element("div", "room-card-members", "0 following"),
      button("Hide", "room-card-hide", () => (card.hidden = true)),
      " ",
      button("Challenge", "room-challenge", () => {
        card.hidden = true;
        this.contest.toggleForm();
      }),
      " ",
      // Here rather than in the top bar: closing ends every student's view, so it takes a look.
      button("Close room", "room-close", () => this.send({ type: "room_close" })),
    );
    card.append(qr, text);
    return card;
  }

  setRoomLinks(message) {
    this.card.querySelector(".room-qr").src = message.qr;
    const url = this.card.querySelector(".room-card-url");
    url.textContent = message.url;
    url.dataset.testid = "room-url";
    this.card.querySelector(".room-card-code").textContent = message.spoken;
    // A loopback address reaches this computer only: say so rather than hand out a dead link.
    const host = new URL(message.url).hostname;
    const local = host === "localhost" || host.startsWith("127.") || host === "[::1]";
    this.card.querySelector(".room-card-local").textContent = local
      ? "This address works on this computer only: start backprop-lab with --host 0.0.0.0 and open the page by this computer's network address, so students can reach it."
      : "";
  }

  // ------------------------------------------------------------------ joining (student)

  buildJoinForm() {
    const form = hiddenForm("room-form", "join-form");
    const code = element("input");
    code.dataset.testid = "join-code";
    code.placeholder = "K7Q-M4X";
    code.autocomplete = "off";
    const name = element("input");
    name.dataset.testid = "join-name";
    name.placeholder = "your name";
    const submit = element("button", "primary", "Join");
    submit.type = "submit";
    submit.dataset.testid = "join-submit";
    form.append(element("h2", "", "Join a room"), labelled("code ", code), labelled("name ", name), submit);
    form.append(button("Cancel", "join-cancel", () => (form.hidden = true)));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.name = name.value.trim();
      this.askToFollow({ type: "join", code: code.value, name: name.value });
      form.hidden = true;
    });
    return form;
  }

  openJoinForm(code) {
    this.joinForm.querySelector("[data-testid=join-code]").value = code;
    this.joinForm.hidden = false;
    this.joinForm.querySelector(code ? "[data-testid=join-name]" : "[data-testid=join-code]").focus();
  }
}

/** The room's cards open below the top bar, which wraps to a second row on a narrow window or
 * with a long readout: its bottom edge is kept in --topbar-bottom. */
function keepBelowTopBar(header) {
  const place = () => document.body.style.setProperty("--topbar-bottom", `${header.getBoundingClientRect().bottom}px`);
  new ResizeObserver(place).observe(header);
}
