// A room's challenge on the page: the teacher's form to start one, and the leaderboard every
// member sees. Every figure in it comes from the server; names go in as text, never HTML.

import { button, element, hiddenForm, labelled } from "./dom.js";

function figure(value, digits = 4) {
  return value === null || value === undefined ? "—" : Number(value).toPrecision(digits);
}

export class Contest {
  /** `send(message)` talks to the server; `role()` is the page's role in its room; `options()`
   * what a challenge may be (hello.challenge: its goals with their words, the time range). */
  constructor({ send, role, options }) {
    this.send = send;
    this.role = role;
    this.options = options;
    this.challenge = null;
    this.challengeTimer = 0;
    this.board = this.buildBoard();
    this.form = this.buildChallengeForm();
  }

  toggleForm() {
    if (this.form.hidden) this.fillForm();
    this.form.hidden = !this.form.hidden;
  }

  /** The goals and limits the server offers; the form keeps what the teacher already typed. */
  fillForm() {
    const { goals, seconds, accuracy } = this.options();
    const goal = this.form.querySelector("[data-testid=challenge-goal]");
    if (!goal.options.length) for (const { value, label } of goals) goal.append(new Option(label, value));
    const time = this.form.querySelector("[data-testid=challenge-seconds]");
    Object.assign(time, { min: seconds.low, max: seconds.high });
    if (!time.value) time.value = seconds.default;
    const threshold = this.form.querySelector("[data-testid=challenge-accuracy]");
    if (!threshold.value) threshold.value = Math.round(accuracy.default * 100);
  }

  goalLabel(value) {
    return this.options().goals.find((goal) => goal.value === value)?.label ?? value;
  }

  buildChallengeForm() {
    const form = hiddenForm("room-form", "challenge-form");
    const goal = element("select");
    goal.dataset.testid = "challenge-goal";
    const seconds = element("input");
    seconds.type = "number";
    seconds.dataset.testid = "challenge-seconds";
    const accuracy = element("input");
    Object.assign(accuracy, { type: "number", min: 1, max: 100 }); // a percentage of 0..1
    accuracy.dataset.testid = "challenge-accuracy";
    const start = element("button", "primary", "Start");
    start.type = "submit";
    start.dataset.testid = "challenge-start";
    form.append(
      element("h2", "", "Challenge on this data set"),
      labelled("goal ", goal),
      labelled("time ", seconds, " s"),
      labelled("test accuracy at least ", accuracy, " % (fewest neurons)"),
      start,
      button("Stop challenge", "challenge-stop", () => {
        this.send({ type: "challenge", goal: null });
        form.hidden = true;
      }),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const message = { type: "challenge", goal: goal.value, seconds: Number(seconds.value) };
      if (goal.value === "fewest_neurons") message.accuracy = Number(accuracy.value) / 100;
      this.send(message);
      form.hidden = true;
    });
    return form;
  }

  setChallenge(message) {
    clearInterval(this.challengeTimer);
    this.challenge = message.goal ? { ...message, endsAt: performance.now() + message.seconds_left * 1000 } : null;
    this.board.hidden = !this.challenge;
    if (!this.challenge) return;
    const title = this.board.querySelector(".board-title");
    const goal = this.goalLabel(message.goal) + (message.accuracy ? ` at ≥ ${Math.round(message.accuracy * 100)} % test accuracy` : "");
    const tick = () => {
      const left = Math.max(0, Math.round((this.challenge.endsAt - performance.now()) / 1000));
      title.textContent = `Challenge: ${goal} on ${message.dataset} · ${left ? `${left} s left` : "time is up"}`;
      if (!left) clearInterval(this.challengeTimer);
    };
    tick();
    this.challengeTimer = setInterval(tick, 1000);
  }

  buildBoard() {
    const board = element("section", "room-board");
    board.dataset.testid = "leaderboard";
    board.hidden = true;
    const table = element("table");
    const head = element("tr");
    for (const label of ["#", "name", "test loss", "test acc", "neurons", "iterations", ""]) head.append(element("th", "", label));
    table.append(element("thead"), element("tbody"));
    table.tHead.append(head);
    board.append(element("h2", "board-title", "Challenge"), table);
    return board;
  }

  setBoard(message) {
    const body = this.board.querySelector("tbody");
    body.replaceChildren();
    for (const row of message.rows) {
      const line = element("tr");
      line.dataset.testid = "leaderboard-row";
      const accuracy = row.test_accuracy === null ? "—" : `${(row.test_accuracy * 100).toFixed(1)} %`;
      const cells = [row.rank ?? "–", row.name, figure(row.test_loss), accuracy, row.neurons, row.iteration];
      for (const value of cells) line.append(element("td", "", String(value)));
      const action = element("td");
      if (this.role() === "teacher") action.append(button("Show", "leaderboard-show", () => this.send({ type: "show", member: row.member })));
      line.append(action);
      body.append(line);
    }
  }
}
