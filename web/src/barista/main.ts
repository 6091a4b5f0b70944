// Placeholder until the barista app lands.
document.getElementById('app')!.textContent = 'barista app'
