// The portal's own behaviour. Loaded as a file, never inline, so that the
// Content-Security-Policy can forbid inline scripts.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Moving focus to the main landmark after a skip link keeps keyboard users
  // where they expect to be.
  const skip = document.querySelector(".skip-link");
  const main = document.getElementById("main");
  if (skip && main) {
    skip.addEventListener("click", () => main.focus());
  }
});
