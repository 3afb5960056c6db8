// GitTix: paying with Stripe's Payment Element, on the order page when the client has a Stripe
// publishable key. The page loads Stripe.js before this script and puts what it needs in the
// data- attributes of form[data-payment-element]: the key, the order's id, the API's paths for
// payment intents and for the order, this page's path (where 3-D Secure comes back to) and
// where to go once the order is complete.
//
// 1. POST {orderId} to the intents path: 201 {id, clientSecret} (asking again gets the same
//    intent), or a refusal in the API's envelope {errors: [{message}]}, shown in the alert.
// 2. Mount the Payment Element with the client secret; the button works once it is ready.
// 3. On submit, stripe.confirmPayment: an error is shown and the form stays; a payment
//    (succeeded or processing) says so and waits for the order to be complete, then goes to
//    My Orders. A card asking for 3-D Secure leaves for its challenge and comes back to this
//    page with ?redirect_status=succeeded|failed: the server renders the form as
//    data-completing (this script waits for the order) or the failure in the alert (this
//    script mounts the element again).
//
// Of Stripe.js only Stripe(key), elements({clientSecret}), create("payment"), mount, on("ready")
// and confirmPayment are used: the local stack's stand-in for Stripe.js has no more.
(function () {
  "use strict";

  // Waiting for the order: ask every second, for a minute at most.
  var POLL_EVERY_MS = 1000;
  var POLL_FOR_MS = 60000;

  var UNREACHABLE = "The payment service could not be reached. Please try again.";
  var NOT_LOADED = "The payment form could not load. Please reload the page.";

  function start() {
    var form = document.querySelector("form[data-payment-element]");
    if (!form) {
      return;
    }
    var page = {
      form: form,
      button: form.querySelector("button[type=submit]"),
      alerts: document.querySelector("[data-alerts]"),
      status: document.querySelector("[data-payment-status]"),
      orderId: form.getAttribute("data-order-id"),
      intentsUrl: form.getAttribute("data-intents-url"),
      orderUrl: form.getAttribute("data-order-url"),
      returnUrl: new URL(form.getAttribute("data-return-url"), window.location.href).href,
      doneUrl: form.getAttribute("data-done-url")
    };
    if (form.hasAttribute("data-completing")) {
      waitForOrder(page);
      return;
    }
    if (typeof window.Stripe !== "function") {
      showErrors(page, [NOT_LOADED]);
      return;
    }
    var stripe = window.Stripe(form.getAttribute("data-stripe-key"));
    createIntent(page).then(
      function (clientSecret) {
        mountPaymentElement(page, stripe, clientSecret);
      },
      function (messages) {
        showErrors(page, messages);
      }
    );
  }

  // The order's payment intent: its client secret, or the messages saying why not.
  function createIntent(page) {
    return fetch(page.intentsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ orderId: page.orderId })
    }).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (body) {
            if (response.ok && body && typeof body.clientSecret === "string") {
              return body.clientSecret;
            }
            return Promise.reject(messagesOf(body));
          });
      },
      function () {
        return Promise.reject([UNREACHABLE]);
      }
    );
  }

  // The messages of the API's error envelope, {errors: [{message}]}.
  function messagesOf(body) {
    var errors = body && Array.isArray(body.errors) ? body.errors : [];
    var messages = errors
      .map(function (error) {
        return error && error.message;
      })
      .filter(function (message) {
        return typeof message === "string" && message !== "";
      });
    return messages.length > 0 ? messages : ["Something went wrong. Please try again."];
  }

  function mountPaymentElement(page, stripe, clientSecret) {
    var elements = stripe.elements({ clientSecret: clientSecret });
    var paymentElement = elements.create("payment");
    paymentElement.on("ready", function () {
      page.button.disabled = false;
    });
    paymentElement.mount("#payment-element");
    page.form.addEventListener("submit", function (event) {
      event.preventDefault();
      page.button.disabled = true;
      clearErrors(page);
      stripe
        .confirmPayment({
          elements: elements,
          confirmParams: { return_url: page.returnUrl },
          redirect: "if_required"
        })
        .then(
          function (result) {
            if (result.error) {
              payAgain(page, [result.error.message || "Your payment was not accepted."]);
              return;
            }
            var status = result.paymentIntent && result.paymentIntent.status;
            if (status === "succeeded" || status === "processing") {
              waitForOrder(page);
              return;
            }
            payAgain(page, ["Your payment was not completed. Try again."]);
          },
          function () {
            payAgain(page, [UNREACHABLE]);
          }
        );
    });
  }

  // The payment failed: say why, and let the card holder try again.
  function payAgain(page, messages) {
    showErrors(page, messages);
    page.button.disabled = false;
  }

  // Paid: "completing your order" until the order is complete, then My Orders.
  function waitForOrder(page) {
    page.form.hidden = true;
    page.status.hidden = false;
    // The time left no longer matters, and must not run out under the message.
    var countdown = document.getElementById("countdown");
    if (countdown) {
      countdown.remove();
    }
    var deadline = performance.now() + POLL_FOR_MS;
    function poll() {
      fetch(page.orderUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .catch(function () {
          return null;
        })
        .then(function (order) {
          var status = order && order.status;
          if (status === "complete") {
            window.location.assign(page.doneUrl);
          } else if (status === "cancelled") {
            showErrors(page, ["The order was cancelled before your payment completed."]);
          } else if (performance.now() >= deadline) {
            showErrors(page, ["Your payment is taking longer than usual. See My Orders for its status."]);
          } else {
            setTimeout(poll, POLL_EVERY_MS);
          }
        });
    }
    poll();
  }

  // The alert as the server renders it (templates/alert.html), with `messages`.
  function showErrors(page, messages) {
    page.status.hidden = true;
    var alert = document.createElement("div");
    alert.className = "alert alert-danger";
    alert.setAttribute("role", "alert");
    var heading = document.createElement("h4");
    heading.textContent = "Ooops....";
    var list = document.createElement("ul");
    list.className = "my-0";
    messages.forEach(function (message) {
      var item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
    });
    alert.appendChild(heading);
    alert.appendChild(list);
    page.alerts.replaceChildren(alert);
  }

  function clearErrors(page) {
    page.alerts.replaceChildren();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
