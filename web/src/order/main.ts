// Placeholder until the order app lands.
document.getElementById('app')!.textContent = 'order app'
