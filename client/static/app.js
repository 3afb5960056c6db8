// GitTix: small progressive enhancements. Every page works without this script; with it the
// order page counts down live, the price field shows two decimals, and the test-card button
// pays once however often it is clicked.
(function () {
  "use strict";

  // The order page: "Time left to pay: N seconds", every second, then "Order Expired".
  // The server says how many milliseconds were left when it rendered the page; counting from
  // there on this browser's monotonic clock is immune to a skewed system clock.
  function startCountdown(element) {
    var deadline = performance.now() + Number(element.getAttribute("data-ms-left"));
    var payment = document.querySelector("[data-payment]");
    var timer = null;
    function tick() {
      var left = Math.round((deadline - performance.now()) / 1000);
      if (left < 0) {
        element.textContent = "Order Expired";
        element.classList.add("expired");
        if (payment) {
          payment.remove();
        }
        if (timer !== null) {
          clearInterval(timer);
        }
        return;
      }
      element.textContent = "Time left to pay: " + left + " seconds";
    }
    tick();
    timer = setInterval(tick, 1000);
  }

  // The sell form: on leaving the price field, show it as it will be sent ("12.5" -> "12.50").
  function formatPrice(input) {
    input.addEventListener("blur", function () {
      var value = parseFloat(input.value);
      if (!isNaN(value)) {
        input.value = value.toFixed(2);
      }
    });
  }

  // The test-card button: one submission only. (With a Stripe key the order page pays with
  // the Payment Element instead: static/payment.js.)
  function preparePayment(form) {
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function () {
      button.disabled = true;
    });
  }

  function start() {
    document.querySelectorAll("[data-countdown]").forEach(startCountdown);
    document.querySelectorAll("input[data-price]").forEach(formatPrice);
    document.querySelectorAll("form[data-pay-form]").forEach(preparePayment);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
