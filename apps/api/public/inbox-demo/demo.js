// Connects the demo's <notify-inbox> to the user given in the form, or in the URL's #fragment on load.
const form = document.getElementById('connect');
const inbox = document.getElementById('inbox');

function connect({ api_url, user_id, token }) {
  if (api_url) inbox.setAttribute('api-url', api_url);
  else inbox.removeAttribute('api-url');
  inbox.setAttribute('user-id', user_id);
  inbox.setAttribute('token', token);
}

const given = new URLSearchParams(location.hash.slice(1));
for (const name of ['api_url', 'user_id', 'token']) form.elements[name].value = given.get(name) ?? '';
if (given.get('user_id') && given.get('token')) connect(Object.fromEntries(given));

form.addEventListener('submit', (e) => {
  e.preventDefault();
  connect(Object.fromEntries(new FormData(form)));
});
