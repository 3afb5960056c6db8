/*
 * A stand-in for the slice of Stripe.js (https://js.stripe.com/v3/) the shop's payment page
 * uses, served by stripe-fake. It talks to the fake that served it (the origin of this
 * script's own URL) and implements only:
 *
 *   Stripe(publishableKey) -> { elements({clientSecret}), confirmPayment({elements,
 *     confirmParams: {return_url}, redirect}), retrievePaymentIntent(clientSecret) }
 *   elements.create('payment') -> { mount(selectorOrElement), on(event, handler) }
 *
 * The payment element is a plain <select> of the fake's test cards (no iframe), so browser
 * tests can pick one. Confirming behaves as Stripe.js does: a decline resolves {error}; a card
 * that needs 3-D Secure navigates to the fake's authentication page and never resolves; a
 * success resolves {paymentIntent} with redirect: 'if_required', and otherwise navigates to
 * return_url with payment_intent, payment_intent_client_secret and redirect_status appended.
 */
(function () {
  'use strict';

  var script = document.currentScript;
  var API_BASE = new URL(script ? script.src : window.location.href).origin;

  var TEST_CARDS = [
    ['pm_card_visa', '4242 4242 4242 4242 \u2014 succeeds'],
    ['pm_card_chargeDeclined', '4000 0000 0000 0002 \u2014 declined'],
    ['pm_card_authenticationRequired', '4000 0027 6000 3184 \u2014 needs 3-D Secure'],
  ];

  /** `pi_..._secret_...` -> `pi_...`. */
  function intentId(clientSecret) {
    return String(clientSecret).split('_secret_')[0];
  }

  /** A promise that never settles: the page is navigating away. */
  function never() {
    return new Promise(function () {});
  }

  /** `url` with `params` appended to its query, before any fragment. */
  function withQuery(url, params) {
    var target = new URL(url, window.location.href);
    Object.keys(params).forEach(function (name) {
      target.searchParams.append(name, params[name]);
    });
    return target.toString();
  }

  /** Calls the fake with form parameters; resolves the JSON answer or a connection error. */
  function call(method, path, params) {
    var body = new URLSearchParams(params);
    var url = API_BASE + path;
    var init = { method: method };
    if (method === 'GET') {
      url += '?' + body.toString();
    } else {
      init.body = body;
    }
    return fetch(url, init)
      .then(function (response) {
        return response.json();
      })
      .catch(function (failure) {
        return {
          error: {
            type: 'api_connection_error',
            message: 'Could not reach the payment service: ' + failure.message,
          },
        };
      });
  }

  function createPaymentElement(group) {
    var handlers = {};
    var select = null;

    function emit(event, payload) {
      (handlers[event] || []).forEach(function (handler) {
        handler(payload);
      });
    }

    var element = {
      mount: function (target) {
        var container = typeof target === 'string' ? document.querySelector(target) : target;
        if (!container) {
          throw new Error('stripe-fake: no element to mount the payment element on: ' + target);
        }
        var label = document.createElement('label');
        label.setAttribute('for', 'stand-in-card');
        label.textContent = 'Test card';
        select = document.createElement('select');
        select.id = 'stand-in-card';
        select.name = 'stand-in-card';
        TEST_CARDS.forEach(function (card) {
          var option = document.createElement('option');
          option.value = card[0];
          option.textContent = card[1];
          select.appendChild(option);
        });
        select.addEventListener('change', function () {
          emit('change', { elementType: 'payment', complete: true, empty: false, value: { type: 'card' } });
        });
        container.appendChild(label);
        container.appendChild(select);
        group._paymentMethod = function () {
          return select.value;
        };
        setTimeout(function () {
          emit('ready', { elementType: 'payment' });
        }, 0);
        return element;
      },
      on: function (event, handler) {
        (handlers[event] = handlers[event] || []).push(handler);
        return element;
      },
    };
    return element;
  }

  function Stripe(publishableKey) {
    if (typeof publishableKey !== 'string' || publishableKey.indexOf('pk_') !== 0) {
      throw new Error('Stripe(): a publishable key (pk_...) is required');
    }

    function elements(options) {
      var group = {
        _clientSecret: options && options.clientSecret,
        _paymentMethod: function () {
          return TEST_CARDS[0][0];
        },
        create: function (type) {
          if (type !== 'payment') {
            throw new Error("stripe-fake: only elements.create('payment') is supported");
          }
          return createPaymentElement(group);
        },
      };
      return group;
    }

    function confirmPayment(options) {
      var group = options && options.elements;
      var returnUrl = options && options.confirmParams && options.confirmParams.return_url;
      var redirect = (options && options.redirect) || 'always';
      if (!group || !group._clientSecret) {
        return Promise.resolve({
          error: { type: 'invalid_request_error', message: 'confirmPayment needs elements created with a clientSecret.' },
        });
      }
      if (!returnUrl && redirect !== 'if_required') {
        return Promise.resolve({
          error: { type: 'invalid_request_error', message: 'confirmPayment needs confirmParams.return_url.' },
        });
      }
      var clientSecret = group._clientSecret;
      var params = {
        key: publishableKey,
        client_secret: clientSecret,
        payment_method: group._paymentMethod(),
      };
      if (returnUrl) {
        params.return_url = returnUrl;
      }
      return call('POST', '/v1/payment_intents/' + intentId(clientSecret) + '/confirm', params).then(
        function (answer) {
          if (answer.error) {
            return { error: answer.error };
          }
          var next = answer.next_action;
          if (answer.status === 'requires_action' && next && next.type === 'redirect_to_url') {
            window.location.assign(next.redirect_to_url.url);
            return never();
          }
          if (redirect === 'if_required') {
            return { paymentIntent: answer };
          }
          window.location.assign(
            withQuery(returnUrl, {
              payment_intent: answer.id,
              payment_intent_client_secret: clientSecret,
              redirect_status: answer.status === 'succeeded' ? 'succeeded' : 'failed',
            })
          );
          return never();
        }
      );
    }

    function retrievePaymentIntent(clientSecret) {
      return call('GET', '/v1/payment_intents/' + intentId(clientSecret), {
        key: publishableKey,
        client_secret: clientSecret,
      }).then(function (answer) {
        return answer.error ? { error: answer.error } : { paymentIntent: answer };
      });
    }

    return {
      elements: elements,
      confirmPayment: confirmPayment,
      retrievePaymentIntent: retrievePaymentIntent,
    };
  }

  window.Stripe = Stripe;
})();
